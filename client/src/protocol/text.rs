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

/// Whether no byte needs an escape. Whole chunks are looked at without an
/// early exit, so that the compiler can use vector instructions.
fn plain(bytes: &[u8]) -> bool {
    let ok = |b: u8| (b >= 0x20) & (b != b'"') & (b != b'\\');
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |all, &b| all & ok(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| ok(b))
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
}
