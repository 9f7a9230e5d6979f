//! deploy/kubernetes/echo-server.yaml: valid Kubernetes, consistent with
//! itself and the image, and its container's command line runs the real
//! echo-server, which answers the readiness probe's ping.

use plug_test_support::kubernetes::{self, Fleet};

const BIN: &str = env!("CARGO_BIN_EXE_echo-server");

fn manifest() -> std::path::PathBuf {
    kubernetes::deploy_dir().join("kubernetes/echo-server.yaml")
}

const FLEET: Fleet = Fleet {
    program: "echo-server",
    service: "echo",
    // The manifest's --drain-timeout-ms.
    drain_seconds: 20,
};

#[test]
fn the_manifest_fits_the_kubernetes_schema() {
    kubernetes::validate_schema(&manifest());
}

#[test]
fn the_container_runs_the_real_server() {
    let container = kubernetes::check(&kubernetes::load(&manifest()), &FLEET);
    let drain = container
        .argv
        .iter()
        .position(|a| a == "--drain-timeout-ms")
        .map(|i| container.argv[i + 1].parse::<u64>().unwrap())
        .expect("--drain-timeout-ms");
    assert_eq!(drain, FLEET.drain_seconds * 1000);
    kubernetes::serve_as_the_pod(BIN, &container);
}
