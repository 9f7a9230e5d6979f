//! The two transports of the kit's server judged by the harness on each of
//! its two transports: the echo server on the native transport (ZMTP spoken
//! by the kit) and on libzmq pass both profiles with `--strict`, whether the
//! harness speaks libzmq (the reference) or the kit's own ZMTP, so neither
//! client can tell the servers apart (PROTOCOL.md §2.3).

mod common;

use std::time::Duration;

use common::{harness, Run};
use plug::server::SocketOptions;
use plug::transport::Transport;
use plug_conformance::bundled::Bundled;
use plug_conformance::Profile;

const DEADLINE: Duration = Duration::from_secs(240);

fn check(server: Transport, judge: Transport, profile: Profile) -> Run {
    let server =
        Bundled::start_on(profile, SocketOptions::default().transport(server), |c| c).unwrap();
    let profile = profile.to_string();
    let judge = judge.to_string();
    harness(
        &[
            "check",
            &server.endpoint,
            "--profile",
            &profile,
            "--strict",
            "--transport",
            &judge,
        ],
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

fn passes_strict(server: Transport, judge: Transport) {
    for profile in [Profile::Rpc, Profile::Raw] {
        let run = check(server, judge, profile);
        assert_strict_pass(
            &format!("the {server} server, {profile}, judged on {judge}"),
            &run,
        );
        assert!(
            run.stdout.contains(&format!("transport: {judge}")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn the_native_server_passes_strict_in_both_profiles() {
    passes_strict(Transport::Native, Transport::Libzmq);
}

#[test]
fn the_libzmq_server_passes_strict_in_both_profiles() {
    passes_strict(Transport::Libzmq, Transport::Libzmq);
}

#[test]
fn the_native_server_passes_strict_judged_on_the_native_transport() {
    passes_strict(Transport::Native, Transport::Native);
}

#[test]
fn the_libzmq_server_passes_strict_judged_on_the_native_transport() {
    passes_strict(Transport::Libzmq, Transport::Native);
}
