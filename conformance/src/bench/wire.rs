//! The bytes of a benchmark request and the check of its reply, for both
//! profiles, without a JSON value per request.
//!
//! rpc: `{"id":SEQ,"method":"echo","params":"xxx…"}` (PROTOCOL.md §6.2),
//! built from a template with the id spliced in. The reply a server built
//! on `plug::protocol` sends, `{"id":SEQ,"result":"xxx…"}`, is recognised
//! byte for byte; any other reply (keys reordered, `jsonrpc` added, spaces,
//! escapes, an error) is parsed and judged in full.
//!
//! raw: `size` bytes, the first 8 the sequence number (little-endian), the
//! rest `x`; the echo must be one frame with the same bytes.

use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::case::Profile;

const RPC_PREFIX: &[u8] = b"{\"id\":";

/// How a reply was judged.
#[derive(Debug, PartialEq)]
pub(crate) struct Judged {
    /// The request it answers, when that can be read from it.
    pub seq: Option<u64>,
    /// `Err` names what is wrong with it.
    pub verdict: Result<(), String>,
}

/// Requests and reply checks of one profile and payload size.
#[derive(Clone, Debug)]
pub(crate) enum Wire {
    Rpc {
        /// `,"method":"echo","params":"xxx…"}`
        request_tail: Vec<u8>,
        /// `,"result":"xxx…"}`
        reply_tail: Vec<u8>,
        size: usize,
    },
    Raw {
        /// `size` bytes of `x`; the first 8 are overwritten per request.
        body: Vec<u8>,
    },
}

impl Wire {
    /// `size` is the `params` string's length (rpc) or the message's
    /// (raw, at least 8: the options are checked before this).
    pub fn new(profile: Profile, size: usize) -> Wire {
        let xs = "x".repeat(size);
        match profile {
            Profile::Rpc => Wire::Rpc {
                request_tail: format!(",\"method\":\"echo\",\"params\":\"{xs}\"}}").into_bytes(),
                reply_tail: format!(",\"result\":\"{xs}\"}}").into_bytes(),
                size,
            },
            Profile::Raw => Wire::Raw {
                body: xs.into_bytes(),
            },
        }
    }

    /// Request `seq`, ready to send.
    pub fn request(&self, seq: u64) -> zmq::Message {
        match self {
            Wire::Rpc { request_tail, .. } => {
                let mut digits = itoa::Buffer::new();
                let id = digits.format(seq).as_bytes();
                let mut msg =
                    zmq::Message::with_size(RPC_PREFIX.len() + id.len() + request_tail.len());
                let (head, rest) = msg.split_at_mut(RPC_PREFIX.len());
                head.copy_from_slice(RPC_PREFIX);
                let (mid, tail) = rest.split_at_mut(id.len());
                mid.copy_from_slice(id);
                tail.copy_from_slice(request_tail);
                msg
            }
            Wire::Raw { body } => {
                // One copy, no zero-filling first (`with_size` zeroes).
                let mut msg = zmq::Message::from(&body[..]);
                msg[..8].copy_from_slice(&seq.to_le_bytes());
                msg
            }
        }
    }

    /// The request a reply answers, read cheaply from its start (the
    /// sequence number of an echo, the leading id of an rpc reply); `None`
    /// when only [`Wire::judge`] can tell.
    pub fn seq_hint(&self, first: &[u8]) -> Option<u64> {
        match self {
            Wire::Rpc { .. } => {
                let rest = first.strip_prefix(RPC_PREFIX)?;
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let canonical = digits == 1 || (digits > 1 && rest[0] != b'0');
                if !canonical || rest.get(digits) != Some(&b',') {
                    return None;
                }
                parse_u64(&rest[..digits])
            }
            Wire::Raw { .. } => first
                .get(..8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))),
        }
    }

    /// Judges a reply of `frames` frames whose first frame is `first`.
    pub fn judge(&self, first: &[u8], frames: usize) -> Judged {
        let mut judged = match self {
            Wire::Rpc {
                reply_tail, size, ..
            } => judge_rpc(first, reply_tail, *size),
            Wire::Raw { body } => judge_raw(first, body),
        };
        if frames != 1 && judged.verdict.is_ok() {
            judged.verdict = Err(format!("reply in {frames} frames; one expected"));
        }
        judged
    }
}

fn judge_raw(first: &[u8], body: &[u8]) -> Judged {
    let Some(head) = first.get(..8) else {
        return Judged {
            seq: None,
            verdict: Err(format!(
                "echo of {} bytes: too short to carry the sequence number",
                first.len()
            )),
        };
    };
    let seq = u64::from_le_bytes(head.try_into().expect("8 bytes"));
    let verdict = if first.len() != body.len() {
        Err(format!(
            "echo of {} bytes; {} were sent",
            first.len(),
            body.len()
        ))
    } else if first[8..] != body[8..] {
        Err("echo bytes differ from the message sent".to_owned())
    } else {
        Ok(())
    };
    Judged {
        seq: Some(seq),
        verdict,
    }
}

fn judge_rpc(first: &[u8], reply_tail: &[u8], size: usize) -> Judged {
    // The common case: exactly the bytes plug::protocol writes.
    if let Some(rest) = first.strip_prefix(RPC_PREFIX) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        // JSON has no leading zeros: "007" is left to the parser to refuse.
        let canonical = digits == 1 || (digits > 1 && rest[0] != b'0');
        if canonical && rest[digits..] == *reply_tail {
            if let Some(seq) = parse_u64(&rest[..digits]) {
                return Judged {
                    seq: Some(seq),
                    verdict: Ok(()),
                };
            }
        }
    }
    judge_rpc_parsed(first, size)
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Any other reply, read in full: its members by name, values unparsed.
fn judge_rpc_parsed(first: &[u8], size: usize) -> Judged {
    let members: HashMap<String, &RawValue> = match serde_json::from_slice(first) {
        Ok(m) => m,
        Err(e) => {
            return Judged {
                seq: None,
                verdict: Err(format!("reply is not a JSON object: {e}")),
            }
        }
    };
    let seq = members
        .get("id")
        .and_then(|id| id.get().parse::<u64>().ok());
    let verdict = match (members.get("result"), members.get("error")) {
        (Some(_), Some(_)) | (None, None) => {
            Err("reply must have exactly one of `result` and `error` (§5.3)".to_owned())
        }
        (None, Some(error)) => Err(format!("error reply: {}", clip(error.get()))),
        (Some(result), None) => match serde_json::from_str::<String>(result.get()) {
            Ok(s) if s.len() == size && s.bytes().all(|b| b == b'x') => Ok(()),
            _ => Err(format!(
                "echo result is not the {size}-byte string sent: {}",
                clip(result.get())
            )),
        },
    };
    Judged { seq, verdict }
}

/// At most 80 characters of `text`, for an error message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(size: usize) -> Wire {
        Wire::new(Profile::Rpc, size)
    }

    #[test]
    fn rpc_request_is_the_template_with_the_id() {
        let req = rpc(3).request(42);
        assert_eq!(
            std::str::from_utf8(&req).unwrap(),
            r#"{"id":42,"method":"echo","params":"xxx"}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&rpc(0).request(0)).unwrap();
        assert_eq!(v["params"], "");
    }

    #[test]
    fn rpc_reply_of_plug_protocol_is_ok() {
        let id = plug::protocol::Id::from_u64(42);
        let reply = plug::protocol::encode_result(Some(&id), false, &serde_json::json!("xxx"));
        assert_eq!(
            rpc(3).judge(&reply, 1),
            Judged {
                seq: Some(42),
                verdict: Ok(())
            }
        );
    }

    #[test]
    fn rpc_replies_in_any_correct_shape_are_ok() {
        for reply in [
            r#"{"result":"xxx","id":7}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":"xxx"}"#,
            r#"{ "id" : 7 , "result" : "\u0078xx" }"#,
        ] {
            let j = rpc(3).judge(reply.as_bytes(), 1);
            assert_eq!(j.seq, Some(7), "{reply}");
            assert_eq!(j.verdict, Ok(()), "{reply}");
        }
    }

    #[test]
    fn rpc_wrong_replies_are_errors_with_their_request() {
        for (reply, why) in [
            (r#"{"id":7,"result":"xx"}"#, "not the 3-byte string"),
            (r#"{"id":7,"result":"xxy"}"#, "not the 3-byte string"),
            (r#"{"id":7,"result":3}"#, "not the 3-byte string"),
            (
                r#"{"id":7,"error":{"code":-32601,"message":"no"}}"#,
                "error reply",
            ),
            (r#"{"id":7,"result":"xxx","error":null}"#, "exactly one"),
            (r#"{"id":7}"#, "exactly one"),
        ] {
            let j = rpc(3).judge(reply.as_bytes(), 1);
            assert_eq!(j.seq, Some(7), "{reply}");
            let err = j.verdict.unwrap_err();
            assert!(err.contains(why), "{reply}: {err}");
        }
        let j = rpc(3).judge(br#"{"id":"7","result":"xxx"}"#, 1);
        assert_eq!(j.seq, None, "a string id is not the integer sent");
        let j = rpc(3).judge(br#"{"id":007,"result":"xxx"}"#, 1);
        assert!(j.verdict.is_err(), "leading zeros are not JSON");
        let j = rpc(3).judge(b"not json", 1);
        assert_eq!(j.seq, None);
        assert!(j.verdict.is_err());
        let j = rpc(3).judge(br#"{"id":7,"result":"xxx"}"#, 2);
        assert_eq!(j.verdict, Err("reply in 2 frames; one expected".into()));
    }

    #[test]
    fn the_hint_names_the_request_the_judgement_does() {
        let wire = rpc(3);
        for reply in [
            r#"{"id":42,"result":"xxx"}"#,
            r#"{"id":42,"error":{"code":1,"message":"no"}}"#,
            r#"{"id":42,"result":"xx"}"#,
        ] {
            assert_eq!(wire.seq_hint(reply.as_bytes()), Some(42), "{reply}");
            assert_eq!(wire.judge(reply.as_bytes(), 1).seq, Some(42), "{reply}");
        }
        for reply in [
            r#"{"result":"xxx","id":42}"#,
            r#"{"id":042,"result":"xxx"}"#,
            r#"{"id":42}"#,
        ] {
            assert_eq!(wire.seq_hint(reply.as_bytes()), None, "{reply}");
        }
        let raw = Wire::new(Profile::Raw, 16);
        assert_eq!(raw.seq_hint(&raw.request(7)), Some(7));
        assert_eq!(raw.seq_hint(b"short"), None);
    }

    #[test]
    fn raw_request_carries_the_sequence_number() {
        let wire = Wire::new(Profile::Raw, 16);
        let msg = wire.request(0x0102);
        assert_eq!(msg.len(), 16);
        assert_eq!(&msg[..8], &0x0102u64.to_le_bytes());
        assert_eq!(&msg[8..], b"xxxxxxxx");
        assert_eq!(
            wire.judge(&msg, 1),
            Judged {
                seq: Some(0x0102),
                verdict: Ok(())
            }
        );
    }

    #[test]
    fn raw_wrong_echoes_are_errors() {
        let wire = Wire::new(Profile::Raw, 16);
        let mut msg = wire.request(9).to_vec();
        msg[12] = b'y';
        assert_eq!(wire.judge(&msg, 1).seq, Some(9));
        assert!(wire.judge(&msg, 1).verdict.is_err());
        let short = &wire.request(9)[..12];
        assert!(wire
            .judge(short, 1)
            .verdict
            .unwrap_err()
            .contains("12 bytes"));
        assert_eq!(wire.judge(b"abc", 1).seq, None);
        assert!(wire.judge(&wire.request(9), 3).verdict.is_err());
    }
}
