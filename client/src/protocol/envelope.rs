//! Envelopes (PROTOCOL.md §3).
//!
//! ```text
//! plug (DEALER)      wire as a ROUTER sees it      reply
//! [body]             [identity, body]              [identity, reply]
//! ["", body]         [identity, "", body]          [identity, "", reply]
//! ```

use std::fmt;
use std::str::FromStr;

use smallvec::{smallvec, SmallVec};

use crate::frame::{Frame, Frames};

/// How a plug frames what it sends (PROTOCOL.md §3.1, §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EnvelopeStyle {
    /// `[body]`: what SocketStream 0.2 sent. The default.
    #[default]
    Bare,
    /// `["", body]`: an empty delimiter first, as a REQ socket sends.
    Delimited,
}

impl EnvelopeStyle {
    /// Frames to put on the wire for `body`.
    pub fn wrap(self, mut body: Vec<Frame>) -> Vec<Frame> {
        // The same rule as `frames`, for any number of frames.
        if self == EnvelopeStyle::Delimited {
            body.insert(0, Frame::empty());
        }
        body
    }

    /// The frames on the wire for a one-frame `body`.
    pub(crate) fn frames(self, body: Frame) -> Frames {
        match self {
            EnvelopeStyle::Bare => smallvec![body],
            EnvelopeStyle::Delimited => smallvec![Frame::empty(), body],
        }
    }

    /// The body of a message received by a plug. A delimited plug that
    /// receives a message without the delimiter gets the frames back as `Err`.
    pub fn unwrap(self, mut frames: Vec<Frame>) -> Result<Vec<Frame>, Vec<Frame>> {
        match self {
            EnvelopeStyle::Bare => Ok(frames),
            EnvelopeStyle::Delimited => {
                if frames.len() >= 2 && frames[0].is_empty() {
                    frames.remove(0);
                    Ok(frames)
                } else {
                    Err(frames)
                }
            }
        }
    }
}

impl fmt::Display for EnvelopeStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvelopeStyle::Bare => "bare",
            EnvelopeStyle::Delimited => "delimited",
        })
    }
}

impl FromStr for EnvelopeStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bare" => Ok(EnvelopeStyle::Bare),
            "delimited" => Ok(EnvelopeStyle::Delimited),
            other => Err(format!(
                "unknown envelope `{other}` (expected `bare` or `delimited`)"
            )),
        }
    }
}

/// The routing part of a received message: what a server must put back in
/// front of its reply (PROTOCOL.md §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// In place up to an identity and a delimiter: an envelope is made,
    /// cloned and dropped for every request a server answers.
    frames: SmallVec<[Frame; 2]>,
    delimited: bool,
}

impl Envelope {
    /// The frames of the envelope: the identity (ROUTER only) and the
    /// delimiter, if the request had one.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Whether the request came with an empty delimiter frame.
    pub fn style(&self) -> EnvelopeStyle {
        if self.delimited {
            EnvelopeStyle::Delimited
        } else {
            EnvelopeStyle::Bare
        }
    }

    /// The frames after the identity (the delimiter, if any): what goes
    /// in front of a reply on a native connection, which has no identity
    /// frame on the wire.
    pub(crate) fn after_identity(&self) -> &[Frame] {
        let idents = self.frames.len() - usize::from(self.delimited);
        &self.frames[idents.min(1)..]
    }

    /// The ROUTER identity frame, when there is one.
    pub fn identity(&self) -> Option<&Frame> {
        let idents = self.frames.len() - usize::from(self.delimited);
        (idents > 0).then(|| &self.frames[0])
    }

    /// The reply as it goes on the wire: this envelope, then `body`.
    pub fn wrap(&self, body: impl IntoIterator<Item = Frame>) -> Vec<Frame> {
        self.frames.iter().cloned().chain(body).collect()
    }

    /// Like [`Envelope::wrap`], consuming the envelope.
    pub fn into_reply(self, body: impl IntoIterator<Item = Frame>) -> Vec<Frame> {
        self.frames.into_iter().chain(body).collect()
    }
}

/// A received message split into envelope and body (PROTOCOL.md §3.4).
#[derive(Debug)]
pub struct Routed {
    /// What to send back in front of the reply.
    pub envelope: Envelope,
    /// The frames after the envelope: one in rpc mode, any in raw mode.
    pub body: Vec<Frame>,
}

impl Routed {
    /// Splits a message that came over a connection whose peer's routing
    /// identity is `identity`: on the native transport the identity is the
    /// connection's, not a frame on the wire. The envelope is the one a
    /// ROUTER would have seen (`[identity]` or `[identity, ""]`).
    pub fn from_peer(identity: Frame, mut frames: Vec<Frame>) -> Routed {
        let delimited = frames.len() >= 2 && frames[0].is_empty();
        let envelope = if delimited {
            frames.remove(0);
            smallvec![identity, Frame::empty()]
        } else {
            smallvec![identity]
        };
        Routed {
            envelope: Envelope {
                frames: envelope,
                delimited,
            },
            body: frames,
        }
    }

    /// Splits a message received by a ROUTER socket (`with_identity = true`)
    /// or a DEALER server socket (`false`, §3.5).
    ///
    /// After the identity, a first frame that is empty and followed by at
    /// least one more frame is the delimiter; otherwise the message is bare.
    pub fn split(mut frames: Vec<Frame>, with_identity: bool) -> Routed {
        let idents = usize::from(with_identity && !frames.is_empty());
        let delimited = frames.len() >= idents + 2 && frames[idents].is_empty();
        let env_len = idents + usize::from(delimited);
        let envelope = frames.drain(..env_len).collect();
        Routed {
            envelope: Envelope {
                frames: envelope,
                delimited,
            },
            body: frames,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Frame {
        Frame::from(s)
    }

    #[test]
    fn split_bare_and_delimited() {
        let r = Routed::split(vec![f("id"), f("body")], true);
        assert_eq!(r.envelope.frames(), &[f("id")]);
        assert_eq!(r.envelope.style(), EnvelopeStyle::Bare);
        assert_eq!(r.body, vec![f("body")]);

        let r = Routed::split(vec![f("id"), f(""), f("body")], true);
        assert_eq!(r.envelope.frames(), &[f("id"), f("")]);
        assert_eq!(r.envelope.style(), EnvelopeStyle::Delimited);
        assert_eq!(r.envelope.identity(), Some(&f("id")));
        assert_eq!(r.body, vec![f("body")]);
    }

    #[test]
    fn a_lone_empty_frame_is_a_body_not_a_delimiter() {
        let r = Routed::split(vec![f("id"), f("")], true);
        assert_eq!(r.envelope.style(), EnvelopeStyle::Bare);
        assert_eq!(r.body, vec![f("")]);
    }

    #[test]
    fn dealer_server_has_no_identity() {
        let r = Routed::split(vec![f(""), f("x")], false);
        assert_eq!(r.envelope.identity(), None);
        assert_eq!(r.envelope.style(), EnvelopeStyle::Delimited);
        let reply = r.envelope.wrap([f("y")]);
        assert_eq!(reply, vec![f(""), f("y")]);
    }

    #[test]
    fn plug_side_wrap_and_unwrap() {
        let wire = EnvelopeStyle::Delimited.wrap(vec![f("a")]);
        assert_eq!(wire, vec![f(""), f("a")]);
        assert_eq!(EnvelopeStyle::Delimited.unwrap(wire), Ok(vec![f("a")]));
        assert_eq!(
            EnvelopeStyle::Delimited.unwrap(vec![f("a")]),
            Err(vec![f("a")])
        );
        assert_eq!(EnvelopeStyle::Bare.unwrap(vec![f("a")]), Ok(vec![f("a")]));
        assert_eq!("delimited".parse(), Ok(EnvelopeStyle::Delimited));
        assert!("req".parse::<EnvelopeStyle>().is_err());
    }
}
