//! Raw mode: the echo of one message (§4.3), as each rule breaks it.

use super::Break;

type Message = Vec<Vec<u8>>;

/// The messages sent back for `body` (none, one, or several).
pub(super) fn echo(rule: Break, mut body: Message) -> Vec<Message> {
    let size: usize = body.iter().map(Vec::len).sum();
    match rule {
        Break::Bounds if size > 1 << 20 => {
            println!("dropped a raw message of {size} bytes (above the 1 MiB bound)");
            return Vec::new();
        }
        Break::DropOver64k if size > 64 << 10 => return Vec::new(),
        Break::ReorderFrames => body.reverse(),
        Break::TruncateBig => {
            for f in &mut body {
                if f.len() > 512 << 10 {
                    f.truncate(f.len() / 2);
                }
            }
        }
        Break::DropEmptyFrames if body.iter().any(|f| !f.is_empty()) => {
            body.retain(|f| !f.is_empty());
        }
        Break::MangleBytes => {
            for f in &mut body {
                *f = f
                    .iter()
                    .filter(|b| **b != 0)
                    .map(|b| if *b > 0x7f { b'?' } else { *b })
                    .collect();
            }
        }
        Break::NulTruncate => {
            for f in &mut body {
                if let Some(i) = f.iter().position(|b| *b == 0) {
                    f.truncate(i);
                }
            }
        }
        Break::RawText => {
            for f in &mut body {
                *f = String::from_utf8_lossy(f).into_owned().into_bytes();
            }
        }
        Break::MergeFrames => return vec![vec![body.concat()]],
        Break::SplitFrames if body.len() > 1 => {
            return body.into_iter().map(|f| vec![f]).collect();
        }
        Break::FirstFrameOnly => body.truncate(1),
        Break::EchoTwice => return vec![body.clone(), body],
        _ => {}
    }
    vec![body]
}
