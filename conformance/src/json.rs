//! Reading JSON as the judge needs it, without the protocol code the kit's
//! servers use: a body's top-level members with their exact text, and ids
//! compared by JSON value (§5.2).
//!
//! `serde_json` checks the grammar (RFC 8259) and hands back each member's
//! raw text, lone surrogate escapes included, which its `String` cannot hold.
//! Ids are decoded here: numbers to an exact decimal, strings to UTF-16 code
//! units.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON object's members in the order they came, each value as its text.
pub(crate) struct Members(pub Vec<(String, String)>);

impl Members {
    /// The first member called `name`, as its JSON text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many members are called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push((k, v.get().to_owned()));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// Why a body is not a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NotObject {
    /// Not UTF-8; the offset of the first bad byte.
    NotUtf8(usize),
    /// Not JSON text; serde_json's reason.
    NotJson(String),
    /// Valid JSON of another kind: "an array", "a string", ...
    Kind(&'static str),
}

impl fmt::Display for NotObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotObject::NotUtf8(at) => write!(f, "not UTF-8 (bad byte at offset {at})"),
            NotObject::NotJson(why) => write!(f, "not JSON ({why})"),
            NotObject::Kind(kind) => write!(f, "JSON {kind}, not an object"),
        }
    }
}

/// Reads a body as one JSON object.
pub(crate) fn object(body: &[u8]) -> Result<Members, NotObject> {
    let text = std::str::from_utf8(body).map_err(|e| NotObject::NotUtf8(e.valid_up_to()))?;
    // A raw value has no depth limit in serde_json (it is skipped with a
    // loop), so valid JSON nested 30000 deep is read too.
    let raw: &RawValue =
        serde_json::from_str(text).map_err(|e| NotObject::NotJson(e.to_string()))?;
    let kind = kind_of(raw.get());
    if kind != "an object" {
        return Err(NotObject::Kind(kind));
    }
    serde_json::from_str::<Members>(raw.get()).map_err(|e| NotObject::NotJson(e.to_string()))
}

/// What kind of JSON value a (valid) text holds.
pub(crate) fn kind_of(text: &str) -> &'static str {
    match text.trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// An id as a JSON value (§5.2): what must come back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IdValue {
    Null,
    /// A number; `integer` when written with no fraction or exponent.
    Number {
        integer: bool,
        value: Decimal,
    },
    /// A string, as UTF-16 code units.
    String(Vec<u16>),
    /// Any other JSON value; its kind ("a boolean", "an object", ...).
    Other(&'static str),
}

impl IdValue {
    /// Decodes an id's JSON text (already known to be valid JSON).
    pub fn parse(text: &str) -> IdValue {
        let text = text.trim();
        match text.as_bytes().first() {
            Some(b'n') => IdValue::Null,
            Some(b'"') => IdValue::String(code_units(text)),
            Some(b'-' | b'0'..=b'9') => IdValue::Number {
                integer: !text.contains(['.', 'e', 'E']),
                value: Decimal::parse(text),
            },
            _ => IdValue::Other(kind_of(text)),
        }
    }

    /// The same id at MUST level (§5.2-a): the same type and value; an
    /// integer only as an integer.
    pub fn same_as(&self, sent: &IdValue) -> bool {
        match (sent, self) {
            (
                IdValue::Number {
                    integer: true,
                    value: a,
                },
                IdValue::Number { integer, value: b },
            ) => *integer && a == b,
            (IdValue::Number { value: a, .. }, IdValue::Number { value: b, .. }) => a == b,
            (a, b) => a == b,
        }
    }

    /// Whether an id of this kind is valid in a request (§5.2, §5.5).
    pub fn is_valid(&self) -> bool {
        !matches!(self, IdValue::Other(_))
    }
}

/// A JSON number as an exact decimal: `digits` × 10^`exp`, with no leading
/// or trailing zeros in `digits` (zero is `digits` empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub negative: bool,
    pub digits: String,
    pub exp: i64,
}

impl Decimal {
    /// Parses JSON number text. Exponents too large for i64 saturate.
    pub fn parse(text: &str) -> Decimal {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(i64::MAX)),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits: String = format!("{int}{frac}");
        let mut exp = exp.saturating_sub(frac.len() as i64);
        let lead = digits.len() - digits.trim_start_matches('0').len();
        digits.drain(..lead);
        while digits.ends_with('0') {
            digits.pop();
            exp = exp.saturating_add(1);
        }
        if digits.is_empty() {
            return Decimal {
                negative: false,
                digits,
                exp: 0,
            };
        }
        Decimal {
            negative,
            digits,
            exp,
        }
    }

    /// The nearest double, as a JavaScript or PHP JSON library would hold it.
    pub fn to_f64(&self) -> f64 {
        let s = format!(
            "{}{}e{}",
            if self.negative { "-" } else { "" },
            if self.digits.is_empty() {
                "0"
            } else {
                &self.digits
            },
            self.exp
        );
        s.parse().unwrap_or(f64::NAN)
    }
}

/// A JSON string literal's code units. Invalid escapes (which serde_json
/// has already refused) are kept as written.
pub(crate) fn code_units(literal: &str) -> Vec<u16> {
    let inner = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(literal);
    if inner.is_ascii() && !inner.contains('\\') {
        return inner.bytes().map(u16::from).collect();
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u16; 2];
            out.extend_from_slice(c.encode_utf16(&mut buf));
            continue;
        }
        match chars.next() {
            Some('"') => out.push(u16::from(b'"')),
            Some('\\') => out.push(u16::from(b'\\')),
            Some('/') => out.push(u16::from(b'/')),
            Some('b') => out.push(0x08),
            Some('f') => out.push(0x0c),
            Some('n') => out.push(u16::from(b'\n')),
            Some('r') => out.push(u16::from(b'\r')),
            Some('t') => out.push(u16::from(b'\t')),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(u16::from_str_radix(&hex, 16).unwrap_or(0xfffd));
            }
            Some(other) => {
                out.push(u16::from(b'\\'));
                let mut buf = [0u16; 2];
                out.extend_from_slice(other.encode_utf16(&mut buf));
            }
            None => out.push(u16::from(b'\\')),
        }
    }
    out
}

/// Code units as readable text: lone surrogates shown as `\udXXX`.
pub(crate) fn show_units(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .map(|r| match r {
            Ok(c) => c.to_string(),
            Err(e) => format!("\\u{:04x}", e.unpaired_surrogate()),
        })
        .collect()
}

/// Whether two JSON texts hold the same value: numbers by exact value,
/// strings by code units, objects member by member in any order.
pub(crate) fn same_value(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => same(&x, &y),
        _ => a.trim() == b.trim(),
    }
}

fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            Decimal::parse(&x.to_string()) == Decimal::parse(&y.to_string())
                || x.as_f64() == y.as_f64() && (x.is_f64() || y.is_f64())
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_exact_text_and_lone_surrogates() {
        let m = object(br#"{"id": 1.50, "x": "\ud800", "id": 2}"#).unwrap();
        assert_eq!(m.get("id").unwrap(), "1.50");
        assert_eq!(m.count("id"), 2);
        assert_eq!(
            IdValue::parse(m.get("x").unwrap()),
            IdValue::String(vec![0xd800])
        );
    }

    #[test]
    fn values_nested_deeper_than_serde_json_values_go() {
        let deep = format!(
            r#"{{"id":1, "result": {}"x"{} , "z":{{"a":[1,-2.5e3,true,null,"\u0041"]}}}}"#,
            "[{\"k\":".repeat(20_000),
            "}]".repeat(20_000)
        );
        let m = object(deep.as_bytes()).unwrap();
        assert_eq!(m.get("id"), Some("1"));
        assert_eq!(m.get("result").unwrap().len(), 20_000 * 8 + 3);
        assert_eq!(m.get("z"), Some(r#"{"a":[1,-2.5e3,true,null,"\u0041"]}"#));
        let broken = deep.replacen("[{", "[{,", 1);
        assert!(matches!(
            object(broken.as_bytes()),
            Err(NotObject::NotJson(_))
        ));
        let array = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(
            object(array.as_bytes()).err(),
            Some(NotObject::Kind("an array"))
        );
        let trailing = format!("{deep} x");
        assert!(matches!(
            object(trailing.as_bytes()),
            Err(NotObject::NotJson(_))
        ));
    }

    #[test]
    fn bodies_that_are_not_objects() {
        assert_eq!(object(b"[1]").err(), Some(NotObject::Kind("an array")));
        assert_eq!(object(b"\xff").err(), Some(NotObject::NotUtf8(0)));
        assert!(matches!(object(b"{} x"), Err(NotObject::NotJson(_))));
        assert!(matches!(object(b"{\"a\":NaN}"), Err(NotObject::NotJson(_))));
        assert!(object(b" {\"a\":1}\n").is_ok());
    }

    #[test]
    fn ids_compare_by_value() {
        let p = IdValue::parse;
        assert!(p("\"A\"").same_as(&p("\"\\u0041\"")));
        assert!(p("\"\u{1F600}\"").same_as(&p("\"\\ud83d\\ude00\"")));
        assert!(!p("\"7\"").same_as(&p("7")));
        assert!(p("18446744073709551615").same_as(&p("18446744073709551615")));
        assert!(!p("1.8446744073709552e19").same_as(&p("18446744073709551615")));
        assert!(
            !p("1.0").same_as(&p("1")),
            "an integer comes back as an integer"
        );
        assert!(p("1.5").same_as(&p("1.50")), "fractions by value");
        assert!(p("15e-1").same_as(&p("1.50")));
        assert!(p("0").same_as(&p("-0")));
        assert!(!p("9007199254740992").same_as(&p("9007199254740993")));
        assert!(p("null").same_as(&p("null")));
        assert_eq!(p("true"), IdValue::Other("a boolean"));
        assert_eq!(
            Decimal::parse("-120.500e2"),
            Decimal {
                negative: true,
                digits: "1205".into(),
                exp: 1
            }
        );
    }

    #[test]
    fn escapes_decode_to_code_units() {
        assert_eq!(
            code_units(r#""a\"\\\/\b\f\n\r\t\u0000é""#),
            "a\"\\/\u{8}\u{c}\n\r\t\0é"
                .encode_utf16()
                .collect::<Vec<_>>()
        );
        assert_eq!(show_units(&[0x41, 0xd800]), "A\\ud800");
    }

    #[test]
    fn values_compare_numbers_by_value() {
        assert!(same_value("[1e300, 1.5]", "[1E+300, 1.50]"));
        assert!(same_value(r#"{"a":1,"b":[]}"#, r#"{"b":[],"a":1}"#));
        assert!(!same_value(r#""é""#, r#""?""#));
        assert!(!same_value("[1,2]", "[2,1]"));
    }
}
