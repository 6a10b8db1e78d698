//! The `allowedDomains` list of a sandboxed session: which hosts its filtering proxy
//! ([`super::proxy`]) may connect to.
//!
//! Matching is on the name the client asked for, before any DNS lookup; see
//! [`super::proxy`] for what that means for names resolving to private addresses.

use std::net::IpAddr;

/// Longest host name DNS can carry (RFC 1035, without the trailing dot).
const MAX_NAME: usize = 253;
/// Longest label DNS can carry (RFC 1035).
const MAX_LABEL: usize = 63;

/// A parsed, validated `allowedDomains` list. Build it with [`Allowlist::parse`], ask it with
/// [`Allowlist::allows`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// Lowercase names without trailing dot that match only themselves.
    exact: Vec<String>,
    /// From `*.example.com`: the `.example.com` a matching host must end with (after at
    /// least one more label).
    suffixes: Vec<String>,
    /// Address literals; compared as addresses so `::1` and `0::1` are the same entry.
    ips: Vec<IpAddr>,
}

impl Allowlist {
    /// Parses the user's entries: host names (`example.com`), wildcards for every subdomain
    /// (`*.example.com`), IPv4 literals (`10.0.0.5`) and IPv6 literals with or without
    /// brackets (`[::1]`, `::1`). Case and one trailing dot are ignored.
    ///
    /// Returns `Err` with a message naming the first bad entry: empty, longer than 253
    /// characters, containing a scheme, port, path, user info or whitespace, a `*` anywhere
    /// but a leading `*.` label (`a.*.com`, `*`, `*example.com`), a wildcard over an address,
    /// a non-ASCII name (write it in punycode, `xn--…`), or a name DNS cannot carry.
    /// An empty list is valid and allows nothing.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut list = Allowlist::default();
        for entry in entries {
            list.add(entry)
                .map_err(|why| format!("allowedDomains entry {entry:?}: {why}"))?;
        }
        Ok(list)
    }

    /// Whether a connection to `host` (as the client named it: a name, an IPv4 literal or a
    /// bracketed or bare IPv6 literal) is allowed. Case-insensitive; one trailing dot is
    /// ignored. `example.com` matches only itself; `*.example.com` matches every subdomain
    /// at any depth (`a.example.com`, `a.b.example.com`) but not `example.com` itself.
    /// Addresses match only an address entry equal to them, never a name or wildcard, and a
    /// host that is not a well-formed name or address matches nothing.
    pub fn allows(&self, host: &str) -> bool {
        match Host::parse(host) {
            Ok(Host::Ip(ip)) => self.ips.contains(&ip),
            Ok(Host::Name(name)) => {
                self.exact.contains(&name)
                    || self
                        .suffixes
                        .iter()
                        .any(|s| name.len() > s.len() && name.ends_with(s.as_str()))
            }
            Err(_) => false,
        }
    }

    /// Whether the list allows nothing at all.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffixes.is_empty() && self.ips.is_empty()
    }

    fn add(&mut self, entry: &str) -> Result<(), String> {
        if let Some(rest) = entry.strip_prefix("*.") {
            if rest.contains('*') {
                return Err("only one leading \"*.\" label may be a wildcard".into());
            }
            match Host::parse(rest)? {
                Host::Ip(_) => Err("a wildcard cannot cover an IP address".into()),
                Host::Name(name) => {
                    let suffix = format!(".{name}");
                    if !self.suffixes.contains(&suffix) {
                        self.suffixes.push(suffix);
                    }
                    Ok(())
                }
            }
        } else if entry.contains('*') {
            Err("a wildcard must be a whole leading label, as in \"*.example.com\"".into())
        } else {
            match Host::parse(entry)? {
                Host::Ip(ip) if !self.ips.contains(&ip) => self.ips.push(ip),
                Host::Name(name) if !self.exact.contains(&name) => self.exact.push(name),
                _ => {}
            }
            Ok(())
        }
    }
}

/// A host in canonical form.
enum Host {
    Ip(IpAddr),
    /// Lowercase, no trailing dot, every label checked.
    Name(String),
}

impl Host {
    /// Shared by entries and by the hosts clients ask for, so a client's host that reaches
    /// the resolver has passed the same checks as the entries it matched (a wildcard alone
    /// would let anything through in front of its suffix).
    fn parse(raw: &str) -> Result<Host, String> {
        if raw.is_empty() {
            return Err("empty".into());
        }
        if raw.chars().any(char::is_whitespace) {
            return Err("contains whitespace".into());
        }
        if raw.contains("://") {
            return Err("contains a scheme; give the bare host name".into());
        }
        if raw.contains(['/', '?', '#']) {
            return Err("contains a path; give the bare host name".into());
        }
        if raw.contains('@') {
            return Err("contains user info; give the bare host name".into());
        }
        if let Some(inner) = raw.strip_prefix('[') {
            return match inner
                .strip_suffix(']')
                .map(str::parse::<std::net::Ipv6Addr>)
            {
                Some(Ok(ip)) => Ok(Host::Ip(IpAddr::V6(ip))),
                _ => Err("not a valid bracketed IPv6 address (a port is not allowed)".into()),
            };
        }
        let bare = raw.strip_suffix('.').unwrap_or(raw);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        if bare.contains(':') {
            return Err("contains a port (or is a malformed IPv6 address)".into());
        }
        if !bare.is_ascii() {
            return Err("not ASCII; write internationalized names in punycode (xn--…)".into());
        }
        if bare.len() > MAX_NAME {
            return Err(format!("longer than {MAX_NAME} characters"));
        }
        let name = bare.to_ascii_lowercase();
        let mut last = "";
        for label in name.split('.') {
            if label.is_empty() {
                return Err("has an empty label (\"..\" or a leading dot)".into());
            }
            if label.len() > MAX_LABEL {
                return Err(format!("has a label longer than {MAX_LABEL} characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err("contains a character not allowed in a host name".into());
            }
            last = label;
        }
        // Resolvers read names such as "127.1" or "10.0.0.010" as addresses; accepting
        // them as names would let an entry mean something other than it appears to.
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return Err("looks like an IPv4 address but is not a valid one".into());
        }
        Ok(Host::Name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Result<Allowlist, String> {
        Allowlist::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parse_errors_name_the_entry() {
        let bad = [
            ("", "empty"),
            ("https://example.com", "scheme"),
            ("example.com:443", "port"),
            ("example.com/path", "path"),
            ("user@example.com", "user info"),
            ("exa mple.com", "whitespace"),
            (" example.com", "whitespace"),
            ("a.*.com", "wildcard"),
            ("*", "wildcard"),
            ("*.", "empty"),
            ("**.example.com", "wildcard"),
            ("*.*.example.com", "wildcard"),
            ("*example.com", "wildcard"),
            ("*.10.0.0.5", "IP"),
            ("*.[::1]", "IP"),
            ("a..com", "empty label"),
            (".example.com", "empty label"),
            ("example.com..", "empty label"),
            ("exa$mple.com", "character"),
            ("bücher.de", "punycode"),
            ("127.1", "IPv4"),
            ("10.0.0.256", "IPv4"),
            ("[::1]:443", "IPv6"),
            ("[example.com]", "IPv6"),
            ("[::1", "IPv6"),
        ];
        for (entry, why) in bad {
            let err = list(&["ok.example.com", entry]).expect_err(entry);
            assert!(err.contains(&format!("{entry:?}")), "{entry}: {err}");
            assert!(err.contains(why), "{entry}: {err}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(list(&[&long_label]).unwrap_err().contains("label longer"));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        assert!(long_name.len() > 253);
        assert!(list(&[&long_name]).unwrap_err().contains("longer than 253"));
        let longest = format!("{}com", "abcdefgh.".repeat(27));
        assert_eq!(longest.len(), 246);
        assert!(list(&[&longest]).is_ok());
    }

    #[test]
    fn matching() {
        let l = list(&[
            "Example.COM",
            "*.GitHub.com.",
            "api.anthropic.com",
            "10.0.0.5",
            "[::1]",
            "fe80::2",
            "_srv.internal",
        ])
        .unwrap();
        let table = [
            ("example.com", true),
            ("EXAMPLE.com.", true),
            ("www.example.com", false),
            ("xexample.com", false),
            ("github.com", false),
            ("api.github.com", true),
            ("A.B.GITHUB.COM.", true),
            ("evilgithub.com", false),
            ("github.com.evil.net", false),
            ("api.anthropic.com", true),
            ("anthropic.com", false),
            ("10.0.0.5", true),
            ("10.0.0.5.", true),
            ("10.0.0.6", false),
            ("[::1]", true),
            ("::1", true),
            ("[0:0::1]", true),
            ("[fe80::2]", true),
            ("127.0.0.1", false),
            ("_srv.internal", true),
            ("", false),
            ("a b.github.com", false),
            ("x\0.github.com", false),
            (".github.com", false),
            ("..github.com", false),
            ("[::1]:80", false),
        ];
        for (host, want) in table {
            assert_eq!(l.allows(host), want, "{host:?}");
        }
    }

    #[test]
    fn empty_and_duplicates() {
        let empty = list(&[]).unwrap();
        assert!(empty.is_empty());
        assert!(!empty.allows("example.com"));
        let dup = list(&["a.com", "A.com.", "*.b.com", "*.B.com", "::1", "[::1]"]).unwrap();
        assert_eq!(dup, list(&["a.com", "*.b.com", "::1"]).unwrap());
    }
}
