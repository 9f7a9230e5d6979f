//! The two transports of the kit's server judged by the harness, which
//! runs on libzmq: the echo server on the native transport (ZMTP spoken by
//! the kit) and on libzmq pass both profiles with `--strict`, so a libzmq
//! client cannot tell them apart (PROTOCOL.md §2.3).

mod common;

use std::time::Duration;

use common::{harness, Run};
use plug::server::SocketOptions;
use plug::transport::Transport;
use plug_conformance::bundled::Bundled;
use plug_conformance::Profile;

const DEADLINE: Duration = Duration::from_secs(240);

fn check(transport: Transport, profile: Profile) -> Run {
    let server = Bundled::start_on(
        profile,
        SocketOptions::default().transport(transport),
        |c| c,
    )
    .unwrap();
    let profile = profile.to_string();
    harness(
        &["check", &server.endpoint, "--profile", &profile, "--strict"],
        DEADLINE,
    )
}

fn assert_strict_pass(what: &str, run: &Run) {
    assert_eq!(
        run.code, 0,
        "{what} should pass with --strict:\n{}",
        run.stdout
    );
    assert_eq!(run.summary("failed"), 0, "{what}");
    assert_eq!(run.summary("non_strict"), 0, "{what}");
    assert_eq!(run.summary("not_run"), 0, "{what}");
    assert!(run.summary("passed") > 10, "{what}: {}", run.stdout);
}

#[test]
fn the_native_server_passes_strict_in_both_profiles() {
    for profile in [Profile::Rpc, Profile::Raw] {
        let run = check(Transport::Native, profile);
        assert_strict_pass(&format!("native {profile}"), &run);
    }
}

#[test]
fn the_libzmq_server_passes_strict_in_both_profiles() {
    for profile in [Profile::Rpc, Profile::Raw] {
        let run = check(Transport::Libzmq, profile);
        assert_strict_pass(&format!("libzmq {profile}"), &run);
    }
}
