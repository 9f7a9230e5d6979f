//! What the `zmtp_decoder` and `zmtp_handshake` fuzz targets check. Each
//! function takes the fuzzer's bytes and panics on a crash or a broken
//! invariant. The fuzz targets (`fuzz/fuzz_targets/zmtp_*.rs`) and the
//! replay test (`zmtp/tests/fuzz_replay.rs`) include this file, so it
//! depends only on `plug_zmtp` and `bytes`.
//!
//! Input layout: the first byte picks the variant (chunk size, limits,
//! socket type), the rest is what the peer sent.

use bytes::{Buf, BytesMut};
use plug_zmtp::{
    Decoder, Encoder, Error, Handshake, Inbound, Limits, Options, ProtocolError, SocketType,
};

/// Feeds `wire` to a decoder `chunk` bytes at a time; returns what came
/// out, the error that stopped it (if any) and the bytes left over.
fn decode_chunked(
    limits: Limits,
    wire: &[u8],
    chunk: usize,
) -> (Vec<Inbound>, Option<ProtocolError>, Vec<u8>) {
    let mut decoder = Decoder::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        let cap = buf.capacity();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(x)) => out.push(x),
                Ok(None) => break,
                Err(e) => return (out, Some(e), buf.to_vec()),
            }
        }
        // The decoder never allocates for what a header announces.
        assert!(buf.capacity() <= cap, "the decoder grew the read buffer");
    }
    (out, None, buf.to_vec())
}

/// The frame decoder: the same messages and the same error whatever the
/// chunking; every message within the limits; messages encode back to bytes
/// that decode to the same messages.
pub fn decoder(data: &[u8]) {
    let Some((&variant, wire)) = data.split_first() else {
        return;
    };
    let limits = if variant & 0x80 != 0 {
        Limits {
            max_message_size: 300,
            max_frames: 4,
            max_command_size: 64,
        }
    } else {
        Limits::default()
    };
    let chunk = (variant & 0x0F) as usize + 1;
    let whole = decode_chunked(limits, wire, wire.len());
    let pieces = decode_chunked(limits, wire, chunk);
    assert_eq!(whole.0, pieces.0, "messages differ with {chunk}-byte reads");
    assert_eq!(whole.1, pieces.1, "errors differ with {chunk}-byte reads");
    if whole.1.is_none() {
        assert_eq!(whole.2, pieces.2, "left-over bytes differ");
    }

    let mut encoder = Encoder::new(16);
    for inbound in &whole.0 {
        match inbound {
            Inbound::Message(frames) => {
                assert!(!frames.is_empty(), "a message without frames");
                assert!(frames.len() <= limits.max_frames);
                let size: usize = frames.iter().map(|f| f.len()).sum();
                assert!(size as u64 <= limits.max_message_size);
                encoder.message(frames.iter().cloned()).unwrap();
            }
            Inbound::Command(c) => encoder.command(c),
        }
    }
    let again = encoder.copy_to_bytes(encoder.remaining());
    let (round, err, rest) = decode_chunked(limits, &again, again.len());
    assert_eq!(err, None, "our own encoding is refused");
    assert!(rest.is_empty());
    assert_eq!(round, whole.0, "encode then decode changed the messages");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs a handshake on `input` fed `chunk` bytes at a time: the outcome
/// (peer, error text or still pending) and the bytes left in the input.
fn handshake_chunked(options: &Options, input: &[u8], chunk: usize) -> (String, Vec<u8>, usize) {
    let mut h = Handshake::new(options).unwrap();
    let signature = h.output().split();
    assert_eq!(signature.len(), plug_zmtp::SIGNATURE_LEN);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        match h.feed(&mut buf) {
            Ok(None) => {}
            Ok(Some(peer)) => {
                assert!(options.socket_type.accepts(peer.socket_type));
                assert!(peer
                    .identity
                    .as_ref()
                    .map_or(true, |id| !id.is_empty() && id.len() <= 255));
                assert!(peer.properties.get("Socket-Type").is_some());
                let sent = h.output().split();
                // After the signature: to a ZMTP 3 peer the other 54 bytes
                // of our greeting and READY (a command); to a ZMTP 2.0 peer
                // the version, our socket type and our identity (a frame).
                let (at, first) = if peer.version.has_commands() {
                    (54, 0x04)
                } else {
                    (2, 0x00)
                };
                assert_eq!(sent.get(at), Some(&first), "READY or identity last");
                assert!(
                    !contains(&sent, b"\x05ERROR"),
                    "an ERROR after a good handshake"
                );
                // What follows READY, fed or not yet, is traffic.
                buf.extend_from_slice(&input[fed..]);
                return (format!("{peer:?}"), buf.to_vec(), 0);
            }
            Err(e) => {
                let out = h.output().split();
                let refused = contains(&out, b"\x05ERROR");
                if let Error::Protocol(_) = e {
                    assert_eq!(
                        refused,
                        h.greeting().is_some(),
                        "ERROR sent iff greeting ok"
                    );
                }
                return (format!("error: {e}"), Vec::new(), out.len());
            }
        }
    }
    ("pending".to_owned(), buf.to_vec(), 0)
}

/// The NULL handshake as DEALER or ROUTER: no panic, the same outcome
/// whatever the chunking, a finished handshake names a compatible peer.
pub fn handshake(data: &[u8]) {
    let Some((&variant, input)) = data.split_first() else {
        return;
    };
    let socket_type = if variant & 1 == 0 {
        SocketType::Dealer
    } else {
        SocketType::Router
    };
    let mut options = Options::new(socket_type);
    options.limits.max_command_size = 1024;
    let chunk = (variant >> 1) as usize % 70 + 1;
    let whole = handshake_chunked(&options, input, input.len());
    let pieces = handshake_chunked(&options, input, chunk);
    assert_eq!(whole, pieces, "outcome differs with {chunk}-byte reads");
}
