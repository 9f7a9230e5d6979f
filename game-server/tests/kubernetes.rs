//! deploy/kubernetes/game-server.yaml: valid Kubernetes, consistent with
//! itself and the image, and its container's command line runs the real
//! game-server, which answers the readiness probe's ping.

use plug_test_support::kubernetes::{self, Fleet};

const BIN: &str = env!("CARGO_BIN_EXE_game-server");

fn manifest() -> std::path::PathBuf {
    kubernetes::deploy_dir().join("kubernetes/game-server.yaml")
}

#[test]
fn the_manifest_fits_the_kubernetes_schema() {
    kubernetes::validate_schema(&manifest());
}

#[test]
fn the_container_runs_the_real_server() {
    let fleet = Fleet {
        program: "game-server",
        service: "game",
        // game-server has no drain flag: the serving loop's default bound.
        drain_seconds: plug::server::ServerConfig::rpc().drain_timeout.as_secs(),
    };
    let container = kubernetes::check(&kubernetes::load(&manifest()), &fleet);
    kubernetes::serve_as_the_pod(BIN, &container);
}
