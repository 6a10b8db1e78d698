//! Bounded NDJSON line framing over a byte stream.
//!
//! The framer keeps three pieces of state — the bytes of the line in progress, the cap, and
//! whether it is discarding an over-long line — so every byte is scanned once (O(n) in the
//! bytes read) and framing resynchronises at the next newline after an over-long line. Memory
//! is bounded by the cap: an over-long line is never buffered past `max_line + 1` bytes.

/// One unit the framer yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete, non-blank line without its terminator (`\n` or `\r\n`).
    Line(&'a [u8]),
    /// A line longer than the cap was dropped; `len` is its length without the terminator.
    Oversized {
        /// Length of the dropped line in bytes.
        len: usize,
    },
}

/// Splits a byte stream into lines, with a hard cap on the length of one line.
#[derive(Debug)]
pub struct LineFramer {
    /// The partial line carried over from earlier chunks (empty while discarding).
    partial: Vec<u8>,
    /// Maximum accepted line length, terminator excluded.
    max_line: usize,
    /// `Some(n)` while dropping an over-long line, `n` = bytes of it seen so far.
    discarding: Option<usize>,
    /// Last byte dropped, to tell whether the dropped line ended in `\r`.
    last_dropped: u8,
}

impl LineFramer {
    /// A framer that accepts lines of at most `max_line` bytes (terminator excluded).
    pub fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_line,
            discarding: None,
            last_dropped: 0,
        }
    }

    /// Bytes currently held for an incomplete line.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Feeds one chunk; calls `emit` for every complete line (or dropped line) it closes.
    ///
    /// Lines that lie wholly inside `chunk` are handed out as slices of `chunk` itself, so the
    /// common case copies nothing.
    pub fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(Frame<'_>)) {
        while !chunk.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(nl) => {
                    let (head, rest) = (&chunk[..nl], &chunk[nl + 1..]);
                    self.close_line(head, emit);
                    chunk = rest;
                }
                None => {
                    self.carry(chunk);
                    return;
                }
            }
        }
    }

    /// Signals end of stream: a last line without a newline is still emitted.
    pub fn finish(&mut self, emit: &mut impl FnMut(Frame<'_>)) {
        if let Some(len) = self.discarding.take() {
            emit(Frame::Oversized { len });
        } else if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            emit_line(&line, self.max_line, emit);
        }
    }

    /// Completes the current line with `head` (the bytes before a newline).
    fn close_line(&mut self, head: &[u8], emit: &mut impl FnMut(Frame<'_>)) {
        if let Some(seen) = self.discarding.take() {
            let last = head.last().copied().unwrap_or(self.last_dropped);
            emit(Frame::Oversized {
                len: strip_cr_len(seen + head.len(), Some(last)),
            });
        } else if self.partial.is_empty() {
            emit_line(head, self.max_line, emit);
        } else if self.partial.len() + head.len() > self.max_line + 1 {
            // Too long even if the last byte is the `\r` of a `\r\n`.
            let len = self.partial.len() + head.len();
            self.partial.clear();
            emit(Frame::Oversized {
                len: strip_cr_len(len, head.last().copied()),
            });
        } else {
            self.partial.extend_from_slice(head);
            let line = std::mem::take(&mut self.partial);
            emit_line(&line, self.max_line, emit);
            // Keep the allocation for the next partial line.
            self.partial = line;
            self.partial.clear();
        }
    }

    /// Stores bytes of a line whose newline has not arrived yet, or counts them if discarding.
    fn carry(&mut self, bytes: &[u8]) {
        if let Some(seen) = self.discarding.as_mut() {
            *seen += bytes.len();
            self.last_dropped = bytes.last().copied().unwrap_or(self.last_dropped);
            return;
        }
        // One extra byte is allowed for the `\r` of a `\r\n` terminator.
        if self.partial.len() + bytes.len() > self.max_line + 1 {
            self.discarding = Some(self.partial.len() + bytes.len());
            self.last_dropped = bytes.last().copied().unwrap_or(0);
            // Give the memory back: an over-long line must not pin a cap-sized buffer.
            self.partial = Vec::new();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }
}

/// Length of a line of `len` bytes whose last byte is `last`, without a trailing `\r`.
fn strip_cr_len(len: usize, last: Option<u8>) -> usize {
    if last == Some(b'\r') { len - 1 } else { len }
}

/// Emits `line` (terminator already removed except a possible `\r`) unless blank; enforces the cap.
fn emit_line(line: &[u8], max_line: usize, emit: &mut impl FnMut(Frame<'_>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max_line {
        emit(Frame::Oversized { len: line.len() });
    } else if !line.iter().all(u8::is_ascii_whitespace) {
        emit(Frame::Line(line));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A frame with owned bytes, for comparisons.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub(crate) enum Owned {
        Line(Vec<u8>),
        Over(usize),
    }

    /// Frames `chunks` fed in order; also returns the most bytes buffered at once.
    pub(crate) fn frame_all(max: usize, chunks: &[&[u8]]) -> (Vec<Owned>, usize) {
        let mut f = LineFramer::new(max);
        let mut out = Vec::new();
        let mut peak = 0;
        let mut sink = |fr: Frame<'_>| {
            out.push(match fr {
                Frame::Line(l) => Owned::Line(l.to_vec()),
                Frame::Oversized { len } => Owned::Over(len),
            })
        };
        for c in chunks {
            f.push(c, &mut sink);
            peak = peak.max(f.buffered());
        }
        f.finish(&mut sink);
        (out, peak)
    }

    fn run(max: usize, chunks: &[&[u8]]) -> Vec<Owned> {
        frame_all(max, chunks).0
    }

    fn line(s: &str) -> Owned {
        Owned::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_lines_and_skips_blank_ones() {
        let out = run(100, &[b"a\n\nb\n  \n\tc\n"]);
        assert_eq!(out, vec![line("a"), line("b"), line("\tc")]);
    }

    #[test]
    fn accepts_crlf() {
        assert_eq!(run(100, &[b"a\r\nb\r\n"]), vec![line("a"), line("b")]);
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let input: &[u8] = b"{\"a\":1}\r\n\n{\"b\":\"xyz\"}\nlong-line-here\nz";
        let expected = run(100, &[input]);
        assert_eq!(expected.len(), 4);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let got = run(100, &[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, expected, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn byte_by_byte_feeding_works() {
        let input = b"one\ntwo\r\nthree";
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            run(10, &chunks),
            vec![line("one"), line("two"), line("three")]
        );
    }

    #[test]
    fn oversized_line_is_dropped_alone_and_framing_resyncs() {
        let big = vec![b'x'; 50];
        let mut input = b"good1\n".to_vec();
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\ngood2\ngood3\n");
        let expected = vec![line("good1"), Owned::Over(50), line("good2"), line("good3")];
        for i in 0..=input.len() {
            assert_eq!(run(10, &[&input[..i], &input[i..]]), expected, "split {i}");
        }
    }

    #[test]
    fn oversized_line_spread_over_many_chunks_keeps_memory_bounded() {
        let mut f = LineFramer::new(16);
        let mut lines = 0;
        let mut over = Vec::new();
        let mut sink = |fr: Frame<'_>| match fr {
            Frame::Line(_) => lines += 1,
            Frame::Oversized { len } => over.push(len),
        };
        for _ in 0..1000 {
            f.push(&[b'y'; 7], &mut sink);
            assert!(f.buffered() <= 17);
        }
        f.push(b"\nok\n", &mut sink);
        assert_eq!(over, vec![7000]);
        assert_eq!(lines, 1);
    }

    #[test]
    fn eof_residue_is_parsed_and_oversized_residue_reported() {
        assert_eq!(run(10, &[b"a\nlast"]), vec![line("a"), line("last")]);
        assert_eq!(run(10, &[b"a\n", b"last\r"]), vec![line("a"), line("last")]);
        assert_eq!(run(3, &[b"a\nlonger"]), vec![line("a"), Owned::Over(6)]);
        assert_eq!(
            run(3, &[b"a\n", b"lo", b"nger"]),
            vec![line("a"), Owned::Over(6)]
        );
        assert_eq!(run(3, &[b"   "]), vec![]);
    }

    #[test]
    fn line_exactly_at_the_cap_is_kept_one_over_is_dropped() {
        let cap = 10 * 1024 * 1024;
        let at = vec![b'a'; cap];
        let mut input = at.clone();
        input.push(b'\n');
        input.extend(std::iter::repeat_n(b'b', cap + 1));
        input.extend_from_slice(b"\r\nnext\n");
        // Feed in 64 KiB reads like the real reader does.
        let chunks: Vec<&[u8]> = input.chunks(64 * 1024).collect();
        let out = run(cap, &chunks);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], Owned::Line(at));
        assert_eq!(out[1], Owned::Over(cap + 1));
        assert_eq!(out[2], line("next"));
        // And as one single chunk.
        let out = run(cap, &[&input]);
        assert_eq!(out[1], Owned::Over(cap + 1));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn crlf_does_not_count_towards_the_cap() {
        assert_eq!(run(3, &[b"abc\r\n"]), vec![line("abc")]);
        assert_eq!(run(3, &[b"ab", b"c\r", b"\n"]), vec![line("abc")]);
        assert_eq!(run(3, &[b"ab", b"cd\r", b"\n"]), vec![Owned::Over(4)]);
    }

    #[test]
    fn invalid_utf8_passes_through_as_bytes() {
        // Framing is byte-based: validation is the parser's job, and must not break framing.
        let out = run(100, &[b"\xff\xfe\n{\"ok\":1}\n"]);
        assert_eq!(out, vec![Owned::Line(vec![0xff, 0xfe]), line("{\"ok\":1}")]);
    }
}
