//! Writing JSON text: a string that needs no escape is copied as it is,
//! where serde_json would look at it byte by byte; everything else is
//! written by serde_json.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, Serializer};
use serde_json::Value;

/// Appends `value` as JSON text.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    // What `write_json` does, without its trial serializer for a value
    // whose kind is known.
    match value {
        Value::String(s) => write_str(out, s),
        other => serde_json::to_writer(out, other).expect("a JSON value serializes"),
    }
}

/// Appends `value` as JSON text: a string by [`write_str`], anything else
/// by serde_json. Fails as serde_json does (a map whose keys are not
/// strings).
pub(crate) fn write_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), serde_json::Error> {
    if write_if_str(out, value) {
        return Ok(());
    }
    serde_json::to_writer(out, value)
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

/// Appends `value` as JSON text if it serializes as a string (a `str`,
/// `String`, `char`, `Value::String`, or one inside `Some` or a newtype),
/// written by [`write_str`]; serde_json would look at the string byte by
/// byte. Returns `false`, having written nothing, for any other value.
fn write_if_str<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> bool {
    value.serialize(StrOnly(out)).is_ok()
}

/// A serializer that writes strings and refuses everything else before
/// writing anything.
struct StrOnly<'a>(&'a mut Vec<u8>);

/// Why [`StrOnly`] refused a value.
#[derive(Debug)]
struct NotStr;

impl fmt::Display for NotStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string")
    }
}

impl std::error::Error for NotStr {}

impl ser::Error for NotStr {
    fn custom<T: fmt::Display>(_: T) -> NotStr {
        NotStr
    }
}

/// The methods of [`StrOnly`] that refuse a value of their kind.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ok, NotStr> {
            Err(NotStr)
        })*
    };
}

impl Serializer for StrOnly<'_> {
    type Ok = ();
    type Error = NotStr;
    type SerializeSeq = Impossible<(), NotStr>;
    type SerializeTuple = Impossible<(), NotStr>;
    type SerializeTupleStruct = Impossible<(), NotStr>;
    type SerializeTupleVariant = Impossible<(), NotStr>;
    type SerializeMap = Impossible<(), NotStr>;
    type SerializeStruct = Impossible<(), NotStr>;
    type SerializeStructVariant = Impossible<(), NotStr>;

    fn serialize_str(self, v: &str) -> Result<(), NotStr> {
        write_str(self.0, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), NotStr> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    // serde_json writes both as the value inside.
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotStr> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotStr> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotStr> {
        Err(NotStr)
    }

    refuse! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
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

    /// A value that serializes as a string is written as serde_json writes
    /// it; any other value is left to serde_json, with nothing written.
    #[test]
    fn only_strings_are_written_here_and_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        struct Name(String);
        #[derive(serde::Serialize)]
        enum Kind {
            Unit,
            Wrapped(String),
        }
        fn check<T: Serialize + ?Sized>(value: &T, is_str: bool) {
            let json = serde_json::to_vec(value).unwrap();
            let mut out = b"[".to_vec();
            assert_eq!(
                write_if_str(&mut out, value),
                is_str,
                "{}",
                String::from_utf8_lossy(&json)
            );
            if is_str {
                assert_eq!(out[1..], json[..]);
            } else {
                assert_eq!(out, b"[", "nothing written");
            }
        }
        check("plain", true);
        check("a \"quoted\" \\ line\n", true);
        check(&String::from("é ☃ 𝄞"), true);
        check(&'☃', true);
        check(&'"', true);
        check(&Value::String("v".into()), true);
        check(&Some("in an option"), true);
        check(&Name("in a newtype".into()), true);
        check(&Some(Name("both".into())), true);
        check(&7, false);
        check(&1.5, false);
        check(&true, false);
        check(&(), false);
        check(&None::<&str>, false);
        check(&Value::Null, false);
        check(&serde_json::json!({"k": "v"}), false);
        check(&["a", "b"], false);
        check(&("a", 1), false);
        check(&Kind::Unit, false);
        check(&Kind::Wrapped("x".into()), false);
        check(&Some(7), false);
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
