//! game-server stopped as an orchestrator stops it: SIGTERM under load
//! loses nothing (requests in flight are answered, new ones are refused
//! with -32003 and the plug sends them to the other replica) and the
//! server exits long before its bound; a peer that keeps it busy is cut
//! off at `--drain-ms`.

use std::time::Duration;

use plug_test_support::drain;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_game-server");

#[test]
fn sigterm_under_load_loses_nothing_and_exits_within_the_bound() {
    let bound = Duration::from_millis(5000);
    let ms = bound.as_millis().to_string();
    let seen =
        drain::sigterm_under_load(BIN, &["--drain-ms", &ms], json!({"method": "getPlayers"}));
    println!(
        "answered {}; the stopped replica: {:?}, refused {} (sent again), exit {:?} after SIGTERM",
        seen.answered, seen.server_side, seen.plug_side.errors, seen.took
    );
    assert!(seen.took < bound, "{:?}", seen.took);
    assert!(!seen.stderr.contains("drain timeout"), "{}", seen.stderr);
}

#[test]
fn a_peer_that_keeps_it_busy_is_cut_off_at_drain_ms() {
    let bound = Duration::from_millis(1000);
    let ms = bound.as_millis().to_string();
    let ended = drain::stalled_peer_holds_the_drain(BIN, &["--drain-ms", &ms], 400, 64 << 10);
    println!("exit {:?} after SIGTERM with --drain-ms {ms}", ended.took);
    assert!(
        ended.stderr.contains("drain timeout of 1s passed"),
        "{}",
        ended.stderr
    );
    // The default bound is 65 s: well past this.
    assert!(
        ended.took < bound + Duration::from_secs(10),
        "{:?}",
        ended.took
    );
}
