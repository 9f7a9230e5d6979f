//! Replays the fuzz corpus of the `zmtp_decoder` and `zmtp_handshake`
//! targets (`tests/fuzz/corpus/`, findings in `tests/fuzz/regressions/`)
//! through their checks, so a finding stays fixed without cargo-fuzz.

#[path = "fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| check(&data));
            assert!(run.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn fuzz_corpus_and_regressions_replay_clean() {
    let counts = [
        ("zmtp_decoder", replay("zmtp_decoder", checks::decoder)),
        (
            "zmtp_handshake",
            replay("zmtp_handshake", checks::handshake),
        ),
    ];
    eprintln!("replayed: {counts:?}");
    for (target, n) in counts {
        assert!(n > 0, "no corpus for {target}");
    }
}
