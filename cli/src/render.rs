//! Printing frames so that any bytes are safe on a terminal.

use std::fmt::Write;

use plug::Frame;

/// One line per frame: `frame 0 (5 bytes): hello`. Text that is UTF-8 is
/// shown with control characters escaped; anything else is marked binary
/// and escaped byte by byte (or shown as hex with `hex`).
pub fn frames(frames: &[Frame], hex: bool) -> String {
    let mut out = String::new();
    for (i, f) in frames.iter().enumerate() {
        let _ = writeln!(out, "{}", frame_line(i, f, hex));
    }
    out
}

fn frame_line(i: usize, f: &[u8], hex: bool) -> String {
    let n = f.len();
    let unit = if n == 1 { "byte" } else { "bytes" };
    if hex {
        return format!("frame {i} ({n} {unit}, hex): {}", to_hex(f));
    }
    match std::str::from_utf8(f) {
        Ok(text) => format!("frame {i} ({n} {unit}): {}", escape_text(text)),
        Err(_) => format!("frame {i} ({n} {unit}, binary): {}", f.escape_ascii()),
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Printable characters as they are; control characters escaped.
pub fn escape_text(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(s, "\\u{{{:x}}}", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_rendered_safely() {
        let out = frames(
            &[
                Frame::from("héllo\n\x1b[31m"),
                Frame::from(&b"\x00\xff"[..]),
                Frame::empty(),
            ],
            false,
        );
        insta::assert_snapshot!(out, @r"
        frame 0 (12 bytes): héllo\n\u{1b}[31m
        frame 1 (2 bytes, binary): \x00\xff
        frame 2 (0 bytes):
        ");
        assert_eq!(
            frames(&[Frame::from("A\0")], true),
            "frame 0 (2 bytes, hex): 4100\n"
        );
    }
}
