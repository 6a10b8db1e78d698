//! Scrollback: the latest output of a terminal, at most a fixed number of bytes, kept as raw
//! bytes (so it serves both encodings) and handed out from a character boundary.

use std::collections::VecDeque;

/// A byte ring that keeps the last `cap` bytes written to it.
#[derive(Debug, Clone)]
pub struct Scrollback {
    buf: VecDeque<u8>,
    cap: usize,
}

impl Scrollback {
    /// A ring of at most `cap` bytes (0 keeps nothing).
    pub fn new(cap: usize) -> Self {
        Self {
            buf: VecDeque::new(),
            cap,
        }
    }

    /// Appends output, dropping the oldest bytes beyond the cap.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.cap == 0 {
            return;
        }
        let bytes = &bytes[bytes.len().saturating_sub(self.cap)..];
        let over = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        self.buf.drain(..over);
        self.buf.extend(bytes);
    }

    /// Bytes held now (≤ the cap).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes held, starting on a character boundary: UTF-8 continuation bytes left at the
    /// front by the trimming (at most three) are skipped.
    pub fn contents(&self) -> Vec<u8> {
        let skip = self
            .buf
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        self.buf.iter().skip(skip).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keeps_the_last_bytes_from_a_character_boundary() {
        let mut r = Scrollback::new(5);
        r.push("ab€".as_bytes()); // a b E2 82 AC
        r.push(b"c"); // ring: b E2 82 AC c
        assert_eq!(r.contents(), "b€c".as_bytes());
        r.push(b"d"); // ring: E2 82 AC c d
        assert_eq!(r.contents(), "€cd".as_bytes());
        r.push(b"e"); // ring: 82 AC c d e → starts mid-character
        assert_eq!(r.contents(), b"cde");
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn zero_keeps_nothing() {
        let mut r = Scrollback::new(0);
        r.push(b"hello");
        assert!(r.is_empty());
        assert!(r.contents().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// However the output is chunked, the ring holds the same bytes: the last `cap` of it,
        /// never more, and hands them out from a character boundary.
        #[test]
        fn any_chunking_keeps_the_same_suffix(
            text in "\\PC{0,80}",
            cap in 0usize..40,
            mut cuts in prop::collection::vec(0usize..400, 0..10),
        ) {
            let bytes = text.as_bytes();
            cuts.sort_unstable();
            let mut r = Scrollback::new(cap);
            let mut at = 0;
            for c in cuts {
                let c = c.min(bytes.len()).max(at);
                r.push(&bytes[at..c]);
                prop_assert!(r.len() <= cap);
                at = c;
            }
            r.push(&bytes[at..]);
            prop_assert!(r.len() <= cap);
            let kept = r.contents();
            prop_assert!(bytes.ends_with(&kept));
            prop_assert!(bytes.len().min(cap) - kept.len() <= 3);
            prop_assert!(std::str::from_utf8(&kept).is_ok(), "starts on a character boundary");
        }
    }
}
