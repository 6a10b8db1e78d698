//! Streaming UTF-8 decoding of terminal output: a character split across two reads is
//! completed by the next read instead of becoming U+FFFD, and invalid bytes become U+FFFD
//! exactly as `TextDecoder` (WHATWG "maximal subpart") replaces them, so the text is the same
//! however the output was chunked.

/// The bytes of an unfinished character carried from one read to the next.
#[derive(Debug, Default, Clone)]
pub struct Utf8Carry {
    carry: Vec<u8>,
}

impl Utf8Carry {
    /// A decoder with nothing carried.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `input` after what was carried, appending to `out`; an unfinished character at
    /// the end is kept for the next call.
    pub fn decode(&mut self, input: &[u8], out: &mut String) {
        if self.carry.is_empty() {
            self.decode_from(input, out);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(input);
            self.decode_from(&joined, out);
        }
    }

    /// The output ended: an unfinished character becomes U+FFFD.
    pub fn finish(&mut self, out: &mut String) {
        if !self.carry.is_empty() {
            self.carry.clear();
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }

    fn decode_from(&mut self, mut bytes: &[u8], out: &mut String) {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(s) => {
                    out.push_str(s);
                    return;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    // `valid` is the prefix from_utf8 just validated: this cannot fail.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        // The input ends inside a character that may still be completed.
                        None => {
                            self.carry.extend_from_slice(rest);
                            return;
                        }
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            bytes = &rest[n..];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn chunked(bytes: &[u8], cuts: &[usize]) -> String {
        let mut d = Utf8Carry::new();
        let mut out = String::new();
        let mut at = 0;
        for &c in cuts {
            let c = c.min(bytes.len()).max(at);
            d.decode(&bytes[at..c], &mut out);
            at = c;
        }
        d.decode(&bytes[at..], &mut out);
        d.finish(&mut out);
        out
    }

    #[test]
    fn a_character_written_one_byte_at_a_time_is_whole() {
        let euro = "€".as_bytes();
        let mut d = Utf8Carry::new();
        let mut out = String::new();
        for b in euro {
            d.decode(std::slice::from_ref(b), &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out, "€");
    }

    #[test]
    fn invalid_bytes_are_replaced_like_text_decoder() {
        // TextDecoder: "\xF0\x9F\x98" then "A" → "\uFFFDA"; a lone continuation → one U+FFFD;
        // an overlong "\xC0\x80" → two.
        assert_eq!(chunked(b"\xF0\x9F\x98A", &[]), "\u{FFFD}A");
        assert_eq!(chunked(b"a\x80b", &[]), "a\u{FFFD}b");
        assert_eq!(chunked(b"\xC0\x80", &[1]), "\u{FFFD}\u{FFFD}");
        // Cut in the middle of a truncated sequence: the same text.
        assert_eq!(chunked(b"\xF0\x9F\x98A", &[1, 2]), "\u{FFFD}A");
        // Output that ends inside a character.
        assert_eq!(chunked(b"ok\xE2\x82", &[]), "ok\u{FFFD}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Any chunking of any bytes decodes to the text of decoding them whole, which is what
        /// `String::from_utf8_lossy` (and TextDecoder) gives.
        #[test]
        fn any_chunking_gives_the_same_text(
            bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(0xE2u8), Just(0x82), Just(0xAC), Just(0xF0), Just(0x9F)], 0..64),
            mut cuts in prop::collection::vec(0usize..64, 0..8),
        ) {
            cuts.sort_unstable();
            prop_assert_eq!(chunked(&bytes, &cuts), String::from_utf8_lossy(&bytes).into_owned());
        }

        #[test]
        fn valid_text_cut_anywhere_is_unchanged(s in "\\PC{0,40}", mut cuts in prop::collection::vec(0usize..200, 0..8)) {
            cuts.sort_unstable();
            prop_assert_eq!(chunked(s.as_bytes(), &cuts), s);
        }
    }
}
