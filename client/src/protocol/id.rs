//! [`Id`]: a request id as its exact JSON text, in both directions
//! (PROTOCOL.md §5.2).

use std::fmt;
use std::hash::{Hash, Hasher};

use arrayvec::ArrayString;
use serde_json::value::RawValue;
use serde_json::Value;

/// A request id exactly as it arrived: its JSON text.
///
/// A server copies this text into its reply, so the id keeps its type and
/// value whatever the JSON library would have done with it (§5.2): integers
/// beyond 64 bits and numbers like `1.50` come back as they were sent. A
/// plug reads the id of each reply into the same type, matches it to its
/// request with [`Id::as_u64`], and hands the exact text of an id it did not
/// send to the message handler ([`crate::MessageKind::UnknownId`]).
///
/// ```
/// use plug::protocol::Id;
/// let id = Id::from_u64(7);
/// assert_eq!(id.json(), "7");
/// assert_eq!(id.as_u64(), Some(7));
/// assert_eq!(Id::from_json("1.50").unwrap().json(), "1.50");
/// assert_eq!(Id::from_json("\"7\"").unwrap().as_u64(), None);
/// ```
#[derive(Clone)]
pub struct Id(Text);

/// The longest id text kept in place: every `u64` (20 digits) and short
/// strings. Longer ids are boxed.
const INLINE: usize = 22;

#[derive(Clone)]
enum Text {
    /// Valid JSON text.
    Inline(ArrayString<INLINE>),
    Boxed(Box<RawValue>),
}

impl Id {
    /// An integer id, as the plug's counter makes them.
    pub fn from_u64(n: u64) -> Id {
        Id::from_text(itoa::Buffer::new().format(n))
    }

    /// An id from its JSON text, kept as given (surrounding whitespace
    /// aside). Fails when `text` is not one JSON value.
    pub fn from_json(text: &str) -> Result<Id, serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(text.trim())?;
        Ok(Id::from_raw(raw))
    }

    /// A copy of `raw`'s text, in place when it is short.
    pub(crate) fn from_raw(raw: &RawValue) -> Id {
        if raw.get().len() <= INLINE {
            Id::from_text(raw.get())
        } else {
            Id(Text::Boxed(raw.to_owned()))
        }
    }

    /// `text` must be one JSON value.
    pub(crate) fn from_text(text: &str) -> Id {
        if text.len() > INLINE {
            let raw = RawValue::from_string(text.to_owned()).expect("valid JSON text");
            return Id(Text::Boxed(raw));
        }
        Id(Text::Inline(
            ArrayString::from(text).expect("no longer than INLINE"),
        ))
    }

    /// The id's JSON text, e.g. `7` or `"abc"`.
    pub fn json(&self) -> &str {
        match &self.0 {
            Text::Inline(text) => text,
            Text::Boxed(raw) => raw.get(),
        }
    }

    /// The id as a raw JSON value, for serializing it verbatim.
    pub fn raw(&self) -> &RawValue {
        serde_json::from_str(self.json()).expect("an id's text is one JSON value")
    }

    /// The id as an unsigned integer when its text is one (`7`, not `7.0`,
    /// `"7"` or `-7`): how a plug matches a reply to its counter's ids.
    pub fn as_u64(&self) -> Option<u64> {
        let digits = self.json().as_bytes();
        // JSON integers have no sign, no leading zero and no exponent, so
        // the digits alone decide; the checked arithmetic checks the range.
        if digits.is_empty() {
            return None;
        }
        digits.iter().try_fold(0u64, |n, &d| {
            let digit = d.checked_sub(b'0').filter(|d| *d <= 9)?;
            n.checked_mul(10)?.checked_add(u64::from(digit))
        })
    }

    /// The id parsed as a `Value`. Numbers beyond what `Value` holds exactly
    /// may lose precision: use [`Id::json`] to compare or copy ids.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json()).unwrap_or(Value::Null)
    }
}

impl From<u64> for Id {
    fn from(n: u64) -> Id {
        Id::from_u64(n)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.json())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

/// Two ids are equal when their JSON texts are: `1` and `1.0` differ, as
/// they do on the wire.
impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.json() == other.json()
    }
}

impl Eq for Id {}

impl Hash for Id {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.json().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_u64_reads_plain_integers_only() {
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("-1", None),
            ("7.0", None),
            ("1e3", None),
            ("\"7\"", None),
            ("null", None),
        ] {
            assert_eq!(Id::from_json(text).unwrap().as_u64(), want, "{text}");
        }
        assert!(Id::from_json("not json").is_err());
        assert_eq!(Id::from_json(" 1.50 ").unwrap().json(), "1.50");
        assert_eq!(Id::from(5u64), Id::from_json("5").unwrap());
        assert_ne!(Id::from_json("1").unwrap(), Id::from_json("1.0").unwrap());
    }

    /// Short ids are kept in place and long ones boxed; both read back the
    /// same text, raw value and integer.
    #[test]
    fn ids_of_every_length_keep_their_text() {
        let long = format!("\"{}\"", "x".repeat(40));
        for text in [
            "0",
            "18446744073709551615",
            "\"abcdefghijklmnopqrst\"",
            "\"abcdefghijklmnopqrstu\"",
            "123456789012345678901234",
            "\"\\ud800\"",
            "1.50",
            "null",
            long.as_str(),
        ] {
            let id = Id::from_json(text).unwrap();
            assert_eq!(id.json(), text);
            assert_eq!(id.raw().get(), text);
            assert_eq!(id.to_string(), text);
            assert_eq!(id.clone(), id);
            assert_eq!(
                id.as_u64(),
                text.parse::<u64>().ok().filter(|_| !text.contains('.'))
            );
        }
        assert_eq!(Id::from_u64(u64::MAX).json(), "18446744073709551615");
        assert!(Id::from_json("[1").is_err());
        assert!(Id::from_json("1 2").is_err());
    }
}
