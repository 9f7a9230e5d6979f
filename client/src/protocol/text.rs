//! Writing JSON text: a string that needs no escape is copied as it is,
//! where serde_json would look at it byte by byte; everything else is
//! written by serde_json.

use serde_json::Value;

/// Appends `value` as JSON text.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => write_str(out, s),
        other => serde_json::to_writer(out, other).expect("a JSON value serializes"),
    }
}

/// Appends `s` as a JSON string. serde_json escapes only control
/// characters, `"` and `\` (UTF-8 is written as it is), so a string without
/// them is its own JSON text between quotes.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    if plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, s).expect("a string serializes");
    }
}

/// Whether no byte needs an escape.
fn plain(bytes: &[u8]) -> bool {
    plain_len(bytes) == bytes.len()
}

/// The length of the JSON string at the start of `bytes`, quotes included,
/// when it has no escape and no control character: its text is then the
/// bytes between the quotes as they are (their UTF-8 is left to the
/// caller).
pub(crate) fn plain_string(bytes: &[u8]) -> Option<usize> {
    let body = bytes.strip_prefix(b"\"")?;
    let end = plain_len(body);
    (body.get(end) == Some(&b'"')).then_some(end + 2)
}

/// How many bytes at the start of `bytes` need no escape in a JSON string:
/// the index of the first `"`, `\` or control character, or the length.
/// Eight bytes are looked at a time.
fn plain_len(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let found = escapes(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        if found != 0 {
            // The lowest flag is exact (see `escapes`); bytes are in
            // little-endian order, so it is the first such byte.
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let tail = words.remainder();
    at + tail
        .iter()
        .position(|&b| needs_escape(b))
        .unwrap_or(tail.len())
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The high bit of each byte of `word` that needs an escape. A byte after
/// one that does may be flagged wrongly (a borrow carries into it); the
/// lowest flag never is, and no flag is set when no byte needs an escape.
fn escapes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = ONES << 7;
    // A byte below n (n <= 0x80) is one whose high bit the subtraction
    // sets and that did not have it before.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w;
    let equal = |c: u8| below(word ^ (ONES * u64::from(c)), 1);
    (below(word, 0x20) | equal(b'"') | equal(b'\\')) & HIGHS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same text as serde_json writes, escapes or not.
    #[test]
    fn strings_read_as_serde_json_writes_them() {
        let long = "a".repeat(100);
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain text".into(),
            "é, ☃, 𝄞".into(),
            "\u{7f} and \u{80}".into(),
            long.clone(),
        ];
        for special in ["\"", "\\", "\n", "\u{0}", "\u{1f}", "/"] {
            cases.push(format!("{special}x"));
            cases.push(format!("{long}{special}"));
            cases.push(format!("{}{special}{}", &long[..31], &long[..40]));
        }
        for s in cases {
            let mut ours = Vec::new();
            write_str(&mut ours, &s);
            assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "{s:?}");
            let mut value = Vec::new();
            write_value(&mut value, &Value::String(s.clone()));
            assert_eq!(value, ours);
        }
        let mut other = Vec::new();
        write_value(
            &mut other,
            &serde_json::json!({"a": [1, 2.5, null, "x\"y"]}),
        );
        assert_eq!(other, br#"{"a":[1,2.5,null,"x\"y"]}"#);
    }

    /// `plain_len` finds the first byte that needs an escape at every
    /// place in a word and after every byte before it (a borrow from a
    /// byte below 0x20 or equal to a special one must not move it).
    #[test]
    fn the_first_byte_that_needs_an_escape_is_found_wherever_it_is() {
        let specials = [0u8, 0x1f, b'"', b'\\'];
        let others = [b'a', 0x20, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff];
        for len in 0..20 {
            for at in 0..=len {
                for &special in &specials {
                    for &other in &others {
                        let mut bytes = vec![other; len];
                        if at < len {
                            bytes[at] = special;
                            // Another special one after it.
                            if at + 1 < len {
                                bytes[at + 1] = specials[(at + 1) % specials.len()];
                            }
                        }
                        let expected = bytes.iter().position(|&b| needs_escape(b)).unwrap_or(len);
                        assert_eq!(plain_len(&bytes), expected, "{bytes:?}");
                        assert_eq!(plain(&bytes), expected == len, "{bytes:?}");
                    }
                }
            }
        }
        // Every byte value alone, in every place of a word.
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = [b'a'; 11];
                bytes[at] = b;
                let expected = if needs_escape(b) { at } else { 11 };
                assert_eq!(plain_len(&bytes), expected, "{b:#x} at {at}");
            }
        }
    }
}
