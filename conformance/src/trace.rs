//! A short wire trace per case: frames sent and received, escaped and
//! truncated, so a failure in a report shows what was on the wire.

use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Lines kept per case; later lines are counted, not stored.
const MAX_LINES: usize = 40;
/// Bytes of one frame shown before it is cut.
const MAX_FRAME_BYTES: usize = 80;
/// Frames of one message shown before the rest are counted.
const MAX_FRAMES: usize = 6;

/// A case's trace, shared between the case's thread and the runner so a case
/// that overruns its deadline still has its trace in the report.
#[derive(Clone, Default)]
pub(crate) struct Trace(Arc<Mutex<Buf>>);

#[derive(Default)]
struct Buf {
    lines: Vec<String>,
    dropped: usize,
}

impl Trace {
    fn push(&self, make: impl FnOnce() -> String) {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if buf.lines.len() < MAX_LINES {
            let line = make();
            buf.lines.push(line);
        } else {
            buf.dropped += 1;
        }
    }

    /// `A -> "frame" "frame"`: a message sent by connection `who`.
    pub fn sent<F: AsRef<[u8]>>(&self, who: &str, frames: &[F]) {
        self.push(|| format!("{who} -> {}", show_frames(frames)));
    }

    /// `A <- "frame"`: a message received by connection `who`.
    pub fn received<F: AsRef<[u8]>>(&self, who: &str, frames: &[F]) {
        self.push(|| format!("{who} <- {}", show_frames(frames)));
    }

    /// A line of commentary, e.g. a wait or a summary of bulk traffic.
    pub fn note(&self, text: impl Into<String>) {
        let text = text.into();
        self.push(|| format!("-- {text}"));
    }

    /// The trace as lines, with a last line counting what was left out.
    pub fn lines(&self) -> Vec<String> {
        let buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = buf.lines.clone();
        if buf.dropped > 0 {
            lines.push(format!("... {} more lines not kept", buf.dropped));
        }
        lines
    }
}

/// Frames as escaped, quoted strings separated by spaces; `(empty message)`
/// for none.
pub(crate) fn show_frames<F: AsRef<[u8]>>(frames: &[F]) -> String {
    if frames.is_empty() {
        return "(no frames)".to_owned();
    }
    let mut out = String::new();
    for (i, f) in frames.iter().take(MAX_FRAMES).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&show_bytes(f.as_ref(), MAX_FRAME_BYTES));
    }
    if frames.len() > MAX_FRAMES {
        let _ = write!(out, " ... (+{} frames)", frames.len() - MAX_FRAMES);
    }
    out
}

/// One frame as a quoted string: printable ASCII as is, the rest escaped
/// (`\xff`, `\n`, `\"`), cut after `max` bytes with the full size shown.
pub(crate) fn show_bytes(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = format!("\"{}\"", shown.escape_ascii());
    if bytes.len() > max {
        let _ = write!(out, "...({} bytes)", bytes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_escaped_and_cut() {
        assert_eq!(
            show_frames(&[b"a\"\0\xff".to_vec(), vec![]]),
            r#""a\"\x00\xff" """#
        );
        let big = vec![b'x'; 100];
        assert_eq!(show_bytes(&big, 3), "\"xxx\"...(100 bytes)");
        assert_eq!(show_frames::<Vec<u8>>(&[]), "(no frames)");
    }

    #[test]
    fn trace_keeps_a_bounded_number_of_lines() {
        let t = Trace::default();
        for i in 0..MAX_LINES + 5 {
            t.note(format!("{i}"));
        }
        let lines = t.lines();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines.last().unwrap(), "... 5 more lines not kept");
    }
}
