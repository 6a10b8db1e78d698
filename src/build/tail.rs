//! The bounded tail of a build's output: what a failure report shows, however much the build
//! printed.

use crate::util::utf8::Utf8Carry;

/// Bytes of output a build keeps: the last 64 KiB of stdout and stderr together.
pub const BUILD_OUTPUT_TAIL: usize = 64 * 1024;

/// Characters of [`OutputTail::last_line`] kept (then `…`): enough for a compiler error,
/// short enough for an error message.
pub const LAST_LINE_CHARS: usize = 500;

/// Which pipe output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The build's stdout.
    Stdout,
    /// The build's stderr.
    Stderr,
}

/// The last [`BUILD_OUTPUT_TAIL`] bytes of a build's stdout and stderr, interleaved in the
/// order the reads returned them, as text.
///
/// Each stream is decoded on its own (a character split across two reads of one pipe is
/// joined, not broken by the other pipe's output in between); invalid UTF-8 becomes U+FFFD.
/// The tail always starts on a character boundary.
#[derive(Debug, Default)]
pub struct OutputTail {
    /// Decoded text; up to twice the tail, so trimming the front is amortised.
    text: String,
    stdout: Utf8Carry,
    stderr: Utf8Carry,
    total: u64,
}

impl OutputTail {
    /// An empty tail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds what one read of `stream` returned.
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let carry = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        // Most of a huge read would be dropped at once: decode only what can survive (and a
        // character's worth before it, which the trim below cuts again).
        let keep = BUILD_OUTPUT_TAIL + 4;
        let bytes = if bytes.len() > keep {
            *carry = Utf8Carry::new();
            self.text.clear();
            &bytes[bytes.len() - keep..]
        } else {
            bytes
        };
        carry.decode(bytes, &mut self.text);
        self.compact(2 * BUILD_OUTPUT_TAIL);
    }

    /// The streams have ended: a character left unfinished becomes U+FFFD.
    pub fn finish(&mut self) {
        self.stdout.finish(&mut self.text);
        self.stderr.finish(&mut self.text);
        self.compact(BUILD_OUTPUT_TAIL);
    }

    /// The tail: at most [`BUILD_OUTPUT_TAIL`] bytes, starting on a character boundary.
    pub fn as_str(&self) -> &str {
        &self.text[tail_start(&self.text, BUILD_OUTPUT_TAIL)..]
    }

    /// The tail as an owned string.
    pub fn into_string(mut self) -> String {
        self.compact(BUILD_OUTPUT_TAIL);
        self.text
    }

    /// Bytes read from both streams in all (more than the tail holds once it has been cut).
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// The last line that has something in it: trimmed, terminal escapes removed, only what
    /// follows its last carriage return (what a terminal would show of a progress line), at
    /// most [`LAST_LINE_CHARS`] characters (then `…`). Empty when there is none.
    pub fn last_line(&self) -> String {
        last_line(self.as_str())
    }

    /// Drops text from the front once there is more than `limit`, keeping the tail.
    fn compact(&mut self, limit: usize) {
        if self.text.len() > limit {
            let start = tail_start(&self.text, BUILD_OUTPUT_TAIL);
            self.text.drain(..start);
        }
    }
}

/// Where the last `keep` bytes of `s` begin, moved forward to a character boundary.
fn tail_start(s: &str, keep: usize) -> usize {
    let mut at = s.len().saturating_sub(keep);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// See [`OutputTail::last_line`].
pub fn last_line(text: &str) -> String {
    for line in text.lines().rev() {
        let plain = strip_escapes(line);
        let shown = plain
            .rsplit('\r')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .unwrap_or("");
        if shown.is_empty() {
            continue;
        }
        return match shown.char_indices().nth(LAST_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &shown[..cut]),
            None => shown.to_owned(),
        };
    }
    String::new()
}

/// `line` without terminal escape sequences (colours, cursor moves, OSC titles and links),
/// which build tools print even into pipes and which would garble an error message.
fn strip_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ST (ESC \).
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // Any other escape is two characters.
            _ => {}
        }
    }
    out
}
