//! Seatbelt: a [`Confinement`] as a macOS sandbox profile (SBPL) for `sandbox-exec -p`, and
//! the argv prefix that runs a program under it. Pure text: nothing here touches the
//! filesystem, so it is compiled (and tested) on every platform; `macos/confine.rs` is what
//! checks for `sandbox-exec` and hands the prefix to spawning.
//!
//! How the profile is built:
//! - It starts closed (`(deny default)`) and allows what ordinary command-line programs (sh,
//!   git, node, python) need to start and run: exec and fork, signals and process info
//!   within the tree, a listed set of sysctls, the few Mach services for user lookups and
//!   logging, POSIX semaphores and shared memory, terminals, and the device files a
//!   program writes to (`/dev/null`, `/dev/tty`, `/dev/fd/*`, …). The list was written
//!   after reading the base policies OpenAI Codex (`codex-rs/core/src/seatbelt_base_policy.sbpl`,
//!   `seatbelt_network_policy.sbpl`) and Anthropic's sandbox-runtime
//!   (`src/sandbox/macos-sandbox-utils.ts`) publish, both derived from Chromium's; it is our
//!   own and smaller: no keychain (`com.apple.SecurityServer`) or certificate services
//!   unless the network is open.
//! - Paths never appear in the profile text. Each is a `-D KEY=path` parameter of
//!   `sandbox-exec` that the profile names with `(param "KEY")`, so no path (quotes,
//!   backslashes, parentheses, newlines) can change the profile's meaning, and there is no
//!   escaping to get wrong.
//! - Precedence: the profile does not depend on which of two rules wins where it can avoid
//!   it. Every allow for files and sockets is itself built to exclude the denied subtrees
//!   (`(require-all … (require-not (subpath D)))`), and the explicit denies for those
//!   subtrees come after every allow as well. SBPL has no published specification; what
//!   Chromium, Codex and sandbox-runtime rely on is that the last matching rule wins, and
//!   sandbox-runtime adds that a deny of one specific operation (`file-write-unlink`) beats
//!   a wildcard allow (`file-write*`) whatever their order. The denies here are both later
//!   and at least as specific, so they win under either reading, and the allows stay off
//!   the denied paths even if neither held. The one rule only a deny carries is the next.
//! - Moving a folder moves the rules' paths away from what they protect (`mv a b` and then
//!   `b/secret` is no longer below the denied `a/secret`). So removing or renaming any
//!   folder above a denied path is refused too (`file-write-unlink` on it, last in the
//!   profile), where it lies in a writable folder: only there could it be renamed at all.
//!   Creating, writing and deleting files next to the denied path still works.
//! - What macOS shows of a denied subtree: its name in its parent's listing; opening,
//!   listing or `stat`ing it fails with "Operation not permitted" (Linux shows it empty).

use std::path::Path;

use super::confine::{Confinement, Network, NetworkSupport, Support};

/// Where macOS keeps `sandbox-exec` (always this path; a copy found on `PATH` would be
/// someone else's program).
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// The SBPL profile for `c`, for `sandbox-exec -p`. It names paths only as `(param "KEY")`:
/// run it with the `-D` arguments [`command`] returns, never alone.
pub fn profile(c: &Confinement) -> String {
    Plan::new(c).profile()
}

/// The argv prefix that runs a program confined to `c`:
/// `["/usr/bin/sandbox-exec", "-p", PROFILE, "-DKEY=path", …, "--"]`. Append the program
/// and its arguments; the `--` keeps a program whose name starts with `-` from being read as
/// an option. The profile applies to the program and everything it starts.
///
/// Paths are passed as text. macOS's own filesystems only hold UTF-8 names; should a path
/// of `c` not be UTF-8 anyway, a writable one is left out (less is writable) and a denied
/// one is replaced by its nearest UTF-8 ancestor (more is denied), so it never fails open.
pub fn command(c: &Confinement) -> Vec<String> {
    let plan = Plan::new(c);
    let mut argv = Vec::with_capacity(4 + plan.params.len());
    argv.push(SANDBOX_EXEC.to_owned());
    argv.push("-p".to_owned());
    argv.push(plan.profile());
    argv.extend(
        plan.params
            .iter()
            .map(|(key, value)| format!("-D{key}={value}")),
    );
    argv.push("--".to_owned());
    argv
}

/// What Seatbelt enforces, given whether `/usr/bin/sandbox-exec` exists (the caller looks).
///
/// - Files: writable folders, read-only and unreadable subtrees, all of it.
/// - `Network::None`: [`NetworkSupport::Full`]. Every socket family is refused (TCP, UDP,
///   raw, and the local socket of the DNS resolver); only Unix sockets inside writable
///   folders stay usable, which are the tree's own.
/// - `Network::Proxy`: [`NetworkSupport::Full`] too. The proxy is reached over loopback TCP,
///   but what the profile enforces is not "TCP only": nothing else leaves the tree by any
///   protocol — no UDP, no DNS, no other host or port — so nothing can go around the proxy
///   (unlike Landlock's `Tcp`, where UDP and DNS stay open). The one address filter,
///   `localhost:PORT`, would also pass UDP to that loopback port, where only the proxy's
///   TCP socket listens.
///
/// Without `sandbox-exec`: [`Support::nothing`].
pub fn support(sandbox_exec_exists: bool) -> Support {
    if !sandbox_exec_exists {
        return Support::nothing(
            "sandbox-exec not found at /usr/bin/sandbox-exec: this macOS cannot apply a Seatbelt profile.",
        );
    }
    Support {
        filesystem: true,
        deny_paths: true,
        network_none: NetworkSupport::Full,
        network_proxy: NetworkSupport::Full,
        mechanism: "seatbelt".into(),
        missing: Vec::new(),
    }
}

/// What every confined tree may do whatever its [`Confinement`]: enough for sh, git, node,
/// python and the like to start and run. Our own list; see the module docs for what it was
/// checked against.
const BASE: &str = r#"(version 1)

; Closed unless allowed below: what is not listed fails with "Operation not permitted".
(deny default)

; Processes. The profile follows every exec and fork, so the whole tree stays inside it.
(allow process-exec)
(allow process-fork)
; Signals and process information only within the tree: nothing outside can be stopped,
; inspected or traced from in here.
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))
; Host statistics through the Mach host port (libuv's os.cpus(), os.freemem(), uptime).
(allow mach-host*)

; sysctls programs read to learn about the machine and themselves. Not all of them: some
; (kern.procargs2) would show other processes' arguments and environment.
(allow sysctl-read
  (sysctl-name-prefix "hw.")
  (sysctl-name-prefix "machdep.cpu.")
  (sysctl-name "machdep.ptrauth_enabled")
  (sysctl-name "kern.argmax")
  (sysctl-name "kern.boottime")
  (sysctl-name "kern.clockrate")
  (sysctl-name "kern.hostname")
  (sysctl-name "kern.maxfiles")
  (sysctl-name "kern.maxfilesperproc")
  (sysctl-name "kern.maxproc")
  (sysctl-name "kern.ngroups")
  (sysctl-name "kern.osproductversion")
  (sysctl-name "kern.osrelease")
  (sysctl-name "kern.ostype")
  (sysctl-name "kern.osvariant_status")
  (sysctl-name "kern.osversion")
  (sysctl-name "kern.secure_kernel")
  (sysctl-name "kern.tcsm_available")
  (sysctl-name "kern.usrstack64")
  (sysctl-name "kern.version")
  (sysctl-name-prefix "kern.proc.pid.")
  (sysctl-name-prefix "kern.proc.pgrp.")
  (sysctl-name "security.mac.lockdown_mode_state")
  (sysctl-name "sysctl.proc_cputype")
  (sysctl-name "sysctl.proc_translated")
  (sysctl-name "vm.loadavg")
  (sysctl-name "vm.swapusage")
  ; getifaddrs() (node's os.networkInterfaces()) lists interfaces through the routing table.
  (sysctl-name-prefix "net.routetable."))
; Two "writes" that only read: V8 asks for TCSM, the JVM for the CPU grade, through a
; sysctl call that passes a buffer in.
(allow sysctl-write
  (sysctl-name "kern.tcsm_enable")
  (sysctl-name "kern.grade_cputype"))

; Preferences (CFPreferences) are read by many Apple libraries on start.
(allow user-preference-read)

; Mach services ordinary programs look up:
; - opendirectoryd: user and group lookups (getpwuid: git, ssh, the shell's prompt, node's
;   os.userInfo()).
; - dirhelper: the per-user temporary and cache folders (confstr(_CS_DARWIN_USER_TEMP_DIR)).
; - logd, system.logger: os_log and syslog.
; - PowerManagement: power assertions (caffeinate, some build tools).
(allow mach-lookup
  (global-name "com.apple.system.opendirectoryd.libinfo")
  (global-name "com.apple.system.opendirectoryd.membership")
  (global-name "com.apple.bsd.dirhelper")
  (global-name "com.apple.logd")
  (global-name "com.apple.system.logger")
  (global-name "com.apple.PowerManagement.control"))
(allow iokit-open (iokit-registry-entry-class "RootDomainUserClient"))

; POSIX semaphores and shared memory (Python's multiprocessing, some build tools).
(allow ipc-posix-sem)
(allow ipc-posix-shm)

; Terminals: new pseudo-terminals (openpty: script, tmux, node-pty), and the terminal the
; tree was started on, which was opened before the profile applied and so carries no
; sandbox extension; hence the tty devices by name.
(allow pseudo-tty)
(allow file-read* file-write* file-ioctl
  (literal "/dev/ptmx")
  (literal "/dev/tty")
  (regex #"^/dev/ttys[0-9]+$"))

; Devices every program may write: the bit buckets, its own descriptors (/dev/fd/N,
; /dev/stdout: shells' redirections and process substitution), and dtrace's helper, which
; dyld opens in every process.
(allow file-read* file-write* file-ioctl
  (literal "/dev/null")
  (literal "/dev/zero")
  (literal "/dev/random")
  (literal "/dev/urandom")
  (literal "/dev/dtracehelper")
  (literal "/dev/stdin")
  (literal "/dev/stdout")
  (literal "/dev/stderr")
  (subpath "/dev/fd"))
"#;

/// The Mach services an open network needs besides sockets: the DNS configuration, the
/// network's state, and certificate checks for TLS (trustd, OCSP, the keychain's trust
/// settings). Only with `Network::All`: certificate checks make trustd fetch URLs a
/// certificate names, which a closed or proxied network must not allow behind its back.
const OPEN_NETWORK: &str = r#"(allow network*)
(allow system-socket)
(allow mach-lookup
  (global-name "com.apple.SystemConfiguration.DNSConfiguration")
  (global-name "com.apple.SystemConfiguration.configd")
  (global-name "com.apple.networkd")
  (global-name "com.apple.trustd.agent")
  (global-name "com.apple.ocspd")
  (global-name "com.apple.SecurityServer"))
"#;

/// One confinement's profile inputs: the `-D` parameters (in order) and the keys each rule
/// refers to.
struct Plan {
    /// `(KEY, path)` for every `-D`, in the order the keys were made.
    params: Vec<(String, String)>,
    writable: Vec<String>,
    deny_write: Vec<String>,
    deny_read: Vec<String>,
    /// Folders above a denied path, inside a writable folder: not to be removed or renamed.
    ancestors: Vec<String>,
    network: Network,
}

impl Plan {
    fn new(c: &Confinement) -> Self {
        let mut plan = Plan {
            params: Vec::new(),
            writable: Vec::new(),
            deny_write: Vec::new(),
            deny_read: Vec::new(),
            ancestors: Vec::new(),
            network: c.network,
        };
        let writable: Vec<&str> = c.writable.iter().filter_map(|p| p.to_str()).collect();
        let deny_write: Vec<&Path> = c.deny_write.iter().map(|p| utf8_or_wider(p)).collect();
        let deny_read: Vec<&Path> = c.deny_read.iter().map(|p| utf8_or_wider(p)).collect();

        // Only folders inside a writable one could be renamed at all; the topmost ancestor
        // ("/") never is.
        let mut ancestors: Vec<&Path> = Vec::new();
        for denied in deny_write.iter().chain(&deny_read) {
            for above in denied.ancestors().skip(1) {
                let renamable = writable.iter().any(|w| above.starts_with(w));
                if renamable && above.parent().is_some() && !ancestors.contains(&above) {
                    ancestors.push(above);
                }
            }
        }

        for w in writable {
            let key = plan.param("WRITABLE", w);
            plan.writable.push(key);
        }
        for d in deny_write {
            let key = plan.param("DENY_WRITE", as_text(d));
            plan.deny_write.push(key);
        }
        for d in deny_read {
            let key = plan.param("DENY_READ", as_text(d));
            plan.deny_read.push(key);
        }
        for a in ancestors {
            let key = plan.param("ANCESTOR", as_text(a));
            plan.ancestors.push(key);
        }
        plan
    }

    /// A new parameter `PREFIX_n` for `value`; its key.
    fn param(&mut self, prefix: &str, value: &str) -> String {
        let n = self
            .params
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .count();
        let key = format!("{prefix}_{n}");
        self.params.push((key.clone(), value.to_owned()));
        key
    }

    fn profile(&self) -> String {
        let mut out = String::with_capacity(BASE.len() + 2048);
        out.push_str(BASE);

        // `(require-not (subpath D))` for every denied subtree: what keeps each allow below
        // off them, whichever rule Seatbelt lets win.
        let not_write: Vec<String> = self
            .deny_write
            .iter()
            .chain(&self.deny_read)
            .map(|k| not_subpath(k))
            .collect();
        let not_read: Vec<String> = self.deny_read.iter().map(|k| not_subpath(k)).collect();

        out.push_str("\n; Reads: everywhere but the unreadable subtrees.\n");
        out.push_str(&rule("allow file-read*", &[], &not_read));

        out.push_str(
            "\n; Writes: only in the writable folders and files, never in a denied subtree.\n",
        );
        for key in &self.writable {
            out.push_str(&rule("allow file-write*", &[subpath(key)], &not_write));
        }

        out.push_str("\n; Network.\n");
        match self.network {
            Network::All => out.push_str(OPEN_NETWORK),
            Network::None | Network::Proxy { .. } => {
                out.push_str(
                    "; Unix sockets only inside writable folders: the tree's own. Anything else\n\
                     ; (the DNS resolver's socket, an SSH agent, the Docker daemon) stays closed.\n",
                );
                out.push_str("(allow system-socket (socket-domain AF_UNIX))\n");
                for key in &self.writable {
                    out.push_str(&format!(
                        "(allow network-bind network-inbound (local unix-socket (subpath {p})))\n\
                         (allow network-outbound (remote unix-socket (subpath {p})))\n",
                        p = param(key)
                    ));
                }
                if let Network::Proxy { port } = self.network {
                    out.push_str(&format!(
                        "; The manager's proxy on loopback, and nothing else.\n\
                         (allow network-outbound (remote ip \"localhost:{port}\"))\n"
                    ));
                }
            }
        }

        // Everything below only denies, and comes after every allow above.
        if !self.deny_read.is_empty() || !self.deny_write.is_empty() {
            out.push_str("\n; Denied subtrees, after every allow (see the module docs).\n");
        }
        for key in &self.deny_read {
            out.push_str(&format!(
                "(deny file-read* file-write* (subpath {p}))\n\
                 (deny network-bind network-inbound network-outbound\n  \
                 (local unix-socket (subpath {p}))\n  (remote unix-socket (subpath {p})))\n",
                p = param(key)
            ));
        }
        for key in &self.deny_write {
            out.push_str(&format!(
                "(deny file-write* (subpath {p}))\n\
                 (deny network-bind (local unix-socket (subpath {p})))\n",
                p = param(key)
            ));
        }
        if !self.ancestors.is_empty() {
            out.push_str(
                "; The folders above a denied path stay where they are: renamed, they would\n\
                 ; take the path out from under its rule.\n(deny file-write-unlink",
            );
            for key in &self.ancestors {
                out.push_str(&format!("\n  (literal {})", param(key)));
            }
            out.push_str(")\n");
        }
        out
    }
}

/// `(param "KEY")`. Keys are ours (`WRITABLE_0`): letters, digits and `_`.
fn param(key: &str) -> String {
    format!("(param \"{key}\")")
}

fn subpath(key: &str) -> String {
    format!("(subpath {})", param(key))
}

fn not_subpath(key: &str) -> String {
    format!("(require-not {})", subpath(key))
}

/// `(OP)` when there are no filters; `(OP F)` for one; otherwise `(OP (require-all F…))`.
fn rule(op: &str, must: &[String], must_not: &[String]) -> String {
    let filters: Vec<&String> = must.iter().chain(must_not).collect();
    match filters.as_slice() {
        [] => format!("({op})\n"),
        [one] => format!("({op} {one})\n"),
        many => {
            let mut s = format!("({op}\n  (require-all");
            for f in many {
                s.push_str("\n    ");
                s.push_str(f);
            }
            s.push_str("))\n");
            s
        }
    }
}

/// `p` if it is UTF-8, else its nearest ancestor that is (a denied path widened rather than
/// dropped; `/` at worst).
fn utf8_or_wider(p: &Path) -> &Path {
    p.ancestors()
        .find(|a| a.to_str().is_some())
        .unwrap_or(Path::new("/"))
}

/// The text of a path [`utf8_or_wider`] returned.
fn as_text(p: &Path) -> &str {
    p.to_str().unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// An SBPL expression, as far as the tests need to read one.
    #[derive(Debug, Clone, PartialEq)]
    enum Sx {
        List(Vec<Sx>),
        Atom(String),
        Str(String),
        Regex(String),
    }

    impl Sx {
        fn head(&self) -> Option<&str> {
            match self {
                Sx::List(items) => match items.first() {
                    Some(Sx::Atom(a)) => Some(a),
                    _ => None,
                },
                _ => None,
            }
        }

        /// The atoms right after the head (`allow file-read* file-write*` → the operations).
        fn ops(&self) -> Vec<&str> {
            let Sx::List(items) = self else {
                return Vec::new();
            };
            items
                .iter()
                .skip(1)
                .map_while(|x| match x {
                    Sx::Atom(a) => Some(a.as_str()),
                    _ => None,
                })
                .collect()
        }

        /// Every string literal anywhere inside.
        fn strings(&self, out: &mut Vec<String>) {
            match self {
                Sx::List(items) => items.iter().for_each(|x| x.strings(out)),
                Sx::Str(s) => out.push(s.clone()),
                _ => {}
            }
        }

        /// The keys of every `(param "KEY")` inside, with whether a `require-not` encloses it.
        fn params(&self, negated: bool, out: &mut Vec<(String, bool)>) {
            if let Sx::List(items) = self {
                if let [Sx::Atom(p), Sx::Str(key)] = items.as_slice()
                    && p == "param"
                {
                    out.push((key.clone(), negated));
                    return;
                }
                let negated = negated || self.head() == Some("require-not");
                items.iter().for_each(|x| x.params(negated, out));
            }
        }
    }

    /// Reads a whole profile into its top-level forms. Panics on anything unbalanced or
    /// unterminated: that is what the tests check.
    fn parse(text: &str) -> Vec<Sx> {
        let mut stack: Vec<Vec<Sx>> = vec![Vec::new()];
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ';' => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '(' => stack.push(Vec::new()),
                ')' => {
                    let done = stack.pop().expect("a ')' without its '('");
                    stack
                        .last_mut()
                        .expect("a ')' without its '('")
                        .push(Sx::List(done));
                }
                '"' => {
                    let mut s = String::new();
                    loop {
                        match chars.next().expect("an unterminated string") {
                            '"' => break,
                            '\\' => s.push(chars.next().expect("an unterminated string")),
                            c => s.push(c),
                        }
                    }
                    stack.last_mut().expect("stack").push(Sx::Str(s));
                }
                '#' if chars.peek() == Some(&'"') => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next().expect("an unterminated regex") {
                            '"' => break,
                            c => s.push(c),
                        }
                    }
                    stack.last_mut().expect("stack").push(Sx::Regex(s));
                }
                c if c.is_whitespace() => {}
                c => {
                    let mut a = String::from(c);
                    while let Some(&n) = chars.peek() {
                        if n.is_whitespace() || n == '(' || n == ')' || n == '"' || n == ';' {
                            break;
                        }
                        a.push(n);
                        chars.next();
                    }
                    stack.last_mut().expect("stack").push(Sx::Atom(a));
                }
            }
        }
        assert_eq!(stack.len(), 1, "an unclosed '('");
        let forms = stack.pop().expect("stack");
        assert!(
            forms.iter().all(|f| matches!(f, Sx::List(_))),
            "only lists at the top"
        );
        forms
    }

    fn confinement(network: Network) -> Confinement {
        Confinement {
            writable: vec![
                PathBuf::from("/Users/me/work"),
                PathBuf::from("/private/tmp/job"),
            ],
            deny_write: vec![PathBuf::from("/Users/me/work/.git")],
            deny_read: vec![PathBuf::from("/Users/me/work/secrets/keys")],
            network,
        }
    }

    /// The forms using `key`, as (index, form, whether `key` is under a `require-not`).
    fn uses<'a>(forms: &'a [Sx], key: &str) -> Vec<(usize, &'a Sx, bool)> {
        let mut found = Vec::new();
        for (i, f) in forms.iter().enumerate() {
            let mut ps = Vec::new();
            f.params(false, &mut ps);
            for (k, negated) in ps {
                if k == key {
                    found.push((i, f, negated));
                }
            }
        }
        found
    }

    /// The `-D` parameters of an argv as (key, value).
    fn params_of(argv: &[String]) -> Vec<(String, String)> {
        argv.iter()
            .filter_map(|a| a.strip_prefix("-D"))
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("KEY=value");
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn seatbelt_profile_starts_closed_and_is_balanced() {
        for network in [Network::All, Network::None, Network::Proxy { port: 8123 }] {
            let forms = parse(&profile(&confinement(network)));
            assert_eq!(
                forms[0],
                Sx::List(vec![Sx::Atom("version".into()), Sx::Atom("1".into())])
            );
            assert_eq!(
                forms[1],
                Sx::List(vec![Sx::Atom("deny".into()), Sx::Atom("default".into())])
            );
            for f in &forms[2..] {
                assert!(matches!(f.head(), Some("allow" | "deny")), "{f:?}");
            }
        }
    }

    #[test]
    fn seatbelt_denies_come_after_every_allow() {
        for network in [Network::All, Network::None, Network::Proxy { port: 8123 }] {
            let forms = parse(&profile(&confinement(network)));
            let last_allow = forms
                .iter()
                .rposition(|f| f.head() == Some("allow"))
                .expect("allows");
            let first_deny = forms
                .iter()
                .enumerate()
                .skip(2)
                .find(|(_, f)| f.head() == Some("deny"))
                .map(|(i, _)| i)
                .expect("denies");
            assert!(last_allow < first_deny, "{last_allow} < {first_deny}");
        }
    }

    #[test]
    fn seatbelt_every_path_is_where_it_belongs() {
        let c = confinement(Network::None);
        let argv = command(&c);
        let params = params_of(&argv);
        assert_eq!(
            params,
            [
                ("WRITABLE_0", "/Users/me/work"),
                ("WRITABLE_1", "/private/tmp/job"),
                ("DENY_WRITE_0", "/Users/me/work/.git"),
                ("DENY_READ_0", "/Users/me/work/secrets/keys"),
                ("ANCESTOR_0", "/Users/me/work"),
                ("ANCESTOR_1", "/Users/me/work/secrets"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let forms = parse(&argv[2]);

        // Writable folders: allowed for writes (and their own Unix sockets), never negated.
        for key in ["WRITABLE_0", "WRITABLE_1"] {
            let found = uses(&forms, key);
            assert!(
                found
                    .iter()
                    .all(|(_, f, neg)| f.head() == Some("allow") && !neg),
                "{key}"
            );
            assert!(
                found.iter().any(|(_, f, _)| f.ops() == ["file-write*"]),
                "{key}"
            );
        }
        // The read-only subtree: kept off every write allow, and denied writes at the end.
        let found = uses(&forms, "DENY_WRITE_0");
        for (_, f, neg) in &found {
            match f.head() {
                Some("allow") => {
                    assert!(neg, "{f:?}");
                    assert!(
                        f.ops().iter().all(|op| op.starts_with("file-write")),
                        "{f:?}"
                    );
                }
                _ => assert!(
                    !neg && (f.ops().contains(&"file-write*") || f.ops() == ["network-bind"]),
                    "{f:?}"
                ),
            }
        }
        assert_eq!(
            found
                .iter()
                .filter(|(_, f, _)| f.ops() == ["file-write*"] && f.head() == Some("allow"))
                .count(),
            2
        );
        assert!(
            found
                .iter()
                .any(|(_, f, _)| f.head() == Some("deny") && f.ops() == ["file-write*"])
        );
        // The unreadable subtree: kept off the read allow and every write allow, denied both.
        let found = uses(&forms, "DENY_READ_0");
        assert!(
            found
                .iter()
                .any(|(_, f, neg)| *neg && f.ops() == ["file-read*"])
        );
        assert_eq!(
            found
                .iter()
                .filter(|(_, f, neg)| *neg && f.ops() == ["file-write*"])
                .count(),
            2
        );
        assert!(found.iter().any(|(_, f, neg)| !neg
            && f.head() == Some("deny")
            && f.ops() == ["file-read*", "file-write*"]));
        assert!(
            found
                .iter()
                .all(|(_, f, neg)| *neg == (f.head() == Some("allow")))
        );
        // The folders above them: no unlink (rename, rmdir), and nothing else.
        for key in ["ANCESTOR_0", "ANCESTOR_1"] {
            let found = uses(&forms, key);
            assert_eq!(found.len(), 1, "{key}");
            assert_eq!(found[0].1.head(), Some("deny"));
            assert_eq!(found[0].1.ops(), ["file-write-unlink"]);
        }
        // Every key used is one passed, and every one passed is used.
        let mut used = Vec::new();
        forms.iter().for_each(|f| f.params(false, &mut used));
        for (k, _) in &used {
            assert!(params.iter().any(|(p, _)| p == k), "{k} is not passed");
        }
        for (p, _) in &params {
            assert!(used.iter().any(|(k, _)| k == p), "{p} is not used");
        }
    }

    #[test]
    fn seatbelt_command_is_sandbox_exec_and_ends_with_double_dash() {
        let argv = command(&confinement(Network::All));
        assert_eq!(argv[0], "/usr/bin/sandbox-exec");
        assert_eq!(argv[1], "-p");
        assert_eq!(argv[2], profile(&confinement(Network::All)));
        assert_eq!(argv.last().map(String::as_str), Some("--"));
        assert_eq!(argv.iter().filter(|a| *a == "--").count(), 1);
        assert!(argv[3..argv.len() - 1].iter().all(|a| a.starts_with("-D")));
    }

    #[test]
    fn seatbelt_no_restrictions_but_network() {
        // Nothing writable, nothing denied: reads everywhere, writes only to devices.
        let c = Confinement {
            network: Network::None,
            ..Confinement::default()
        };
        let argv = command(&c);
        assert_eq!(argv.len(), 4);
        let forms = parse(&argv[2]);
        assert!(forms.iter().any(|f| f
            == &Sx::List(vec![
                Sx::Atom("allow".into()),
                Sx::Atom("file-read*".into())
            ])));
        assert!(!argv[2].contains("(deny file"));
    }

    #[test]
    fn seatbelt_network_modes() {
        let all = profile(&confinement(Network::All));
        assert!(all.contains("(allow network*)"));
        assert!(!all.contains("remote ip"));

        let none = profile(&confinement(Network::None));
        assert!(!none.contains("(allow network*)"));
        assert!(!none.contains("remote ip"));
        assert!(!none.contains("trustd"));
        assert!(!none.contains("(allow system-socket)\n"));
        assert!(none.contains("(allow system-socket (socket-domain AF_UNIX))"));
        // Unix sockets only in the writable folders.
        let forms = parse(&none);
        for f in &forms {
            if f.head() == Some("allow") && f.ops().iter().any(|op| op.starts_with("network")) {
                let mut ps = Vec::new();
                f.params(false, &mut ps);
                assert!(
                    !ps.is_empty() && ps.iter().all(|(k, _)| k.starts_with("WRITABLE_")),
                    "{f:?}"
                );
            }
        }

        let proxy = profile(&confinement(Network::Proxy { port: 8123 }));
        assert!(!proxy.contains("(allow network*)"));
        assert_eq!(proxy.matches("remote ip").count(), 1);
        assert!(proxy.contains("(allow network-outbound (remote ip \"localhost:8123\"))"));
        // The same as None otherwise.
        let proxy_rest = proxy.replace(
            "; The manager's proxy on loopback, and nothing else.\n(allow network-outbound (remote ip \"localhost:8123\"))\n",
            "",
        );
        assert_eq!(proxy_rest, none);
    }

    #[test]
    fn seatbelt_folders_above_a_denied_path_only_inside_writable_ones() {
        let c = Confinement {
            writable: vec![PathBuf::from("/w")],
            deny_write: vec![
                PathBuf::from("/w/a/b/.git"),
                PathBuf::from("/elsewhere/x/y"),
            ],
            deny_read: vec![PathBuf::from("/w/a/secret")],
            network: Network::All,
        };
        let ancestors: Vec<String> = params_of(&command(&c))
            .into_iter()
            .filter(|(k, _)| k.starts_with("ANCESTOR_"))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(ancestors, ["/w/a/b", "/w/a", "/w"]);
    }

    #[test]
    fn seatbelt_awkward_paths_stay_out_of_the_profile() {
        let awkward = [
            "/Users/me/My Project",
            "/Users/me/\"quoted\"",
            "/Users/me/back\\slash",
            "/Users/me/paren) (allow default",
            "/Users/me/Ünïcødé/日本語/🦀",
            "/Users/me/semi;colon\nnewline",
        ];
        for path in awkward {
            let c = Confinement {
                writable: vec![PathBuf::from(path)],
                deny_write: vec![PathBuf::from(format!("{path}/ro"))],
                deny_read: vec![PathBuf::from(format!("{path}/hidden"))],
                network: Network::None,
            };
            let argv = command(&c);
            assert!(!argv[2].contains(path), "{path}");
            let params = params_of(&argv);
            assert_eq!(params[0], ("WRITABLE_0".to_owned(), path.to_owned()));
            assert_eq!(params[1], ("DENY_WRITE_0".to_owned(), format!("{path}/ro")));
            assert_eq!(
                params[2],
                ("DENY_READ_0".to_owned(), format!("{path}/hidden"))
            );
            parse(&argv[2]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn seatbelt_non_utf8_paths_fail_closed() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let bad = |s: &[u8]| PathBuf::from(OsStr::from_bytes(s));
        let c = Confinement {
            writable: vec![PathBuf::from("/w"), bad(b"/w2/\xff")],
            deny_write: vec![bad(b"/w/ok/\xfe/deeper")],
            deny_read: vec![bad(b"/\xfd")],
            network: Network::None,
        };
        let params = params_of(&command(&c));
        let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        assert_eq!(get("WRITABLE_0"), Some("/w"));
        assert_eq!(
            get("WRITABLE_1"),
            None,
            "a writable path that is not text is left out"
        );
        assert_eq!(
            get("DENY_WRITE_0"),
            Some("/w/ok"),
            "widened to its text ancestor"
        );
        assert_eq!(
            get("DENY_READ_0"),
            Some("/"),
            "widened to the root at worst"
        );
    }

    #[test]
    fn seatbelt_support() {
        let s = support(true);
        assert_eq!(s.mechanism, "seatbelt");
        assert!(s.filesystem && s.deny_paths && s.missing.is_empty());
        assert_eq!(s.network_none, NetworkSupport::Full);
        assert_eq!(s.network_proxy, NetworkSupport::Full);
        let s = support(false);
        assert_eq!(s.mechanism, "none");
        assert!(!s.filesystem && !s.deny_paths);
        assert_eq!(s.missing.len(), 1);
    }

    /// Not a check: writes the argv prefix for a confinement read from the environment, so
    /// a Mac owner can try the profile by hand (the README's commands use it).
    /// `SEATBELT_WRITABLE`, `SEATBELT_DENY_WRITE`, `SEATBELT_DENY_READ`: `:`-separated
    /// resolved paths; `SEATBELT_NETWORK`: `all`, `none` or `proxy:PORT`;
    /// `SEATBELT_ARGV_OUT`: the file to write, arguments separated by NUL bytes.
    #[test]
    #[ignore = "a tool for trying the profile on a Mac, run with --ignored"]
    fn seatbelt_write_argv() -> std::io::Result<()> {
        let paths = |name: &str| -> Vec<PathBuf> {
            std::env::var(name)
                .unwrap_or_default()
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        };
        let network = match std::env::var("SEATBELT_NETWORK")
            .unwrap_or_default()
            .as_str()
        {
            "none" => Network::None,
            other => match other.strip_prefix("proxy:").map(str::parse) {
                Some(Ok(port)) => Network::Proxy { port },
                _ => Network::All,
            },
        };
        let c = Confinement {
            writable: paths("SEATBELT_WRITABLE"),
            deny_write: paths("SEATBELT_DENY_WRITE"),
            deny_read: paths("SEATBELT_DENY_READ"),
            network,
        };
        let out = std::env::var("SEATBELT_ARGV_OUT").unwrap_or_else(|_| "seatbelt.argv".into());
        let mut bytes = Vec::new();
        for arg in command(&c) {
            bytes.extend_from_slice(arg.as_bytes());
            bytes.push(0);
        }
        std::fs::write(out, bytes)
    }

    /// Path text made of whatever is hardest for a string literal.
    fn nasty_path() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just(")".to_owned()),
                Just("(".to_owned()),
                Just(";".to_owned()),
                Just("#\"".to_owned()),
                Just("\n".to_owned()),
                Just("=".to_owned()),
                Just("/".to_owned()),
                "[a-z ]{1,4}",
                "\\PC{1,3}",
            ],
            0..12,
        )
        .prop_map(|parts| format!("/{}", parts.concat()))
    }

    proptest! {
        /// No path text changes the profile: it is the same text as for plain paths of the
        /// same shape, so nothing in a path can close a string or open a rule.
        #[test]
        fn seatbelt_path_text_cannot_reach_the_profile(
            writable in proptest::collection::vec(nasty_path(), 0..3),
            deny_write in proptest::collection::vec(nasty_path(), 0..3),
            deny_read in proptest::collection::vec(nasty_path(), 0..3),
            port in any::<u16>(),
        ) {
            let c = Confinement {
                writable: writable.iter().map(PathBuf::from).collect(),
                deny_write: deny_write.iter().map(PathBuf::from).collect(),
                deny_read: deny_read.iter().map(PathBuf::from).collect(),
                network: Network::Proxy { port },
            };
            let argv = command(&c);
            let forms = parse(&argv[2]);
            // Every string literal is ours: a param key, or text of the base policy.
            let mut strings = Vec::new();
            forms.iter().for_each(|f| f.strings(&mut strings));
            let params = params_of(&argv);
            for s in &strings {
                prop_assert!(
                    params.iter().any(|(k, _)| k == s)
                        || profile(&Confinement { network: Network::Proxy { port }, ..Confinement::default() })
                            .contains(&format!("\"{s}\"")),
                    "{s:?} is not ours"
                );
            }
            // Each path is one -D argument, with its text intact.
            for (i, w) in writable.iter().enumerate() {
                prop_assert_eq!(&params[i], &(format!("WRITABLE_{i}"), w.clone()));
            }
            prop_assert_eq!(argv.last().map(String::as_str), Some("--"));
        }
    }
}
