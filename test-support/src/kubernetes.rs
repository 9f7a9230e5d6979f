//! Checks of the manifests in `deploy/kubernetes/`: YAML read with Python's
//! PyYAML (`python3 -c 'import yaml'`), the Kubernetes schemas checked with
//! `kubernetes-validate` (from PyPI; it carries the schemas, so no network
//! at test time), and what a schema cannot know: the Service selects the
//! Deployment's pods on the container's port, the probe asks that port, the
//! image holds the programs the manifest runs, and the grace period outlasts
//! the drain.
//!
//! Used by `echo-server/tests/kubernetes.rs` and
//! `game-server/tests/kubernetes.rs`, which also run the container's command
//! line, unchanged, with their real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::process::ServerProcess;
use crate::router::DEADLINE;
use crate::testbed::{Isolation, TestBed};

/// `deploy/` at the repository's root.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every document of a YAML file, as JSON, read by PyYAML.
pub fn load(path: &Path) -> Vec<Value> {
    const TO_JSON: &str =
        "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)";
    let out = Command::new("python3")
        .args(["-c", TO_JSON])
        .arg(path)
        .output()
        .expect("python3 runs (with PyYAML: Debian's python3-yaml)");
    assert!(
        out.status.success(),
        "{} is not YAML that PyYAML reads: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("PyYAML's JSON")
}

/// Validates `path` against the Kubernetes schemas, rejecting unknown
/// fields. Returns `false` (having said SKIPPED on stderr) when
/// `kubernetes-validate` is not installed; under `CI=true` that fails.
pub fn validate_schema(path: &Path) -> bool {
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "--no-warn"])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named kubernetes_validate") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubernetes-validate is missing: python3 -m pip install kubernetes-validate"
        );
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPED the schema check of {}: kubernetes-validate is missing (python3 -m pip install kubernetes-validate)",
            path.display()
        );
        return false;
    }
    assert!(
        out.status.success(),
        "{} breaks the Kubernetes schema:\n{}{stderr}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
    );
    true
}

/// What the manifests of one server must say.
pub struct Fleet<'a> {
    /// The program the container runs (`echo-server`).
    pub program: &'a str,
    /// The Service's name (`echo`).
    pub service: &'a str,
    /// How long the server may drain after SIGTERM, in seconds.
    pub drain_seconds: u64,
}

/// The container of a checked manifest.
#[derive(Debug)]
pub struct Container {
    /// `command` then `args`, as the container runs them.
    pub argv: Vec<String>,
    /// The port it serves on.
    pub port: u16,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list of strings, got {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// Checks the manifest's Service and Deployment against each other, the
/// image and `fleet`; returns the container to run.
pub fn check(docs: &[Value], fleet: &Fleet) -> Container {
    let of_kind = |kind: &str| -> &Value {
        let all: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
        assert_eq!(all.len(), 1, "one {kind}, found {}", all.len());
        all[0]
    };
    let service = of_kind("Service");
    let deployment = of_kind("Deployment");
    assert_eq!(service["metadata"]["name"], fleet.service);
    assert_eq!(
        service["spec"]["clusterIP"], "None",
        "the Service must be headless: its name resolves to every pod"
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    for (k, v) in service["spec"]["selector"].as_object().expect("a selector") {
        assert_eq!(&labels[k], v, "the pods lack the Service's label {k}");
    }
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let mut argv = strings(&c["command"]);
    argv.extend(strings(&c["args"]));
    assert_eq!(argv[0], fleet.program);
    let bind = argv
        .iter()
        .position(|a| a == "--bind")
        .map(|i| argv[i + 1].clone())
        .expect("--bind in the container's arguments");
    let port: u16 = bind
        .strip_prefix("tcp://0.0.0.0:")
        .unwrap_or_else(|| panic!("bind {bind}: every interface of the pod, one port"))
        .parse()
        .expect("a port");
    let container_port = &c["ports"][0];
    assert_eq!(container_port["containerPort"], port);
    let port_name = container_port["name"].as_str().expect("a named port");
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(service_port["port"], port, "plugs use the pods' own port");
    assert_eq!(service_port["targetPort"], port_name);
    let probe = strings(&c["readinessProbe"]["exec"]["command"]);
    assert_eq!(probe, ["plug", "probe", &format!("tcp://127.0.0.1:{port}")]);
    let pre_stop = strings(&c["lifecycle"]["preStop"]["exec"]["command"]);
    let pre_stop_seconds: u64 = match &pre_stop[..] {
        [sleep, s] if sleep == "sleep" => s.parse().expect("seconds"),
        other => panic!("preStop: {other:?}"),
    };
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("a grace period");
    assert!(
        grace > pre_stop_seconds + fleet.drain_seconds,
        "terminationGracePeriodSeconds {grace} must outlast preStop {pre_stop_seconds} s and the drain {} s",
        fleet.drain_seconds
    );
    let image = c["image"].as_str().expect("an image");
    let dockerfile =
        std::fs::read_to_string(deploy_dir().join("Dockerfile")).expect("deploy/Dockerfile");
    for program in [&argv[0], &probe[0], &pre_stop[0]] {
        let installed = format!("/usr/local/bin/{program}");
        assert!(
            dockerfile.contains(&installed) || program == "sleep",
            "{image}: deploy/Dockerfile installs no {installed}"
        );
    }
    Container { argv, port }
}

/// Runs the container's command line with the real binary `bin` in a host
/// of a [`TestBed`], as the pod would run it, and asks it for `ping` as the
/// readiness probe will; then stops it with SIGTERM, as Kubernetes does, and
/// checks that it exits cleanly.
///
/// In a namespace the command runs unchanged (`--bind tcp://0.0.0.0:PORT`
/// binds the host's own interfaces only). Without namespaces the bind is
/// narrowed to the host's loopback address and any port, and that is said
/// on stderr.
pub fn serve_as_the_pod(bin: &str, container: &Container) {
    let bed = TestBed::start(1);
    let host = bed.host(0);
    let mut args = container.argv[1..].to_vec();
    let endpoint_at = |server: &ServerProcess| match bed.isolation() {
        Isolation::Namespaces => host.endpoint(container.port),
        Isolation::Loopback(_) => server.endpoint.clone(),
    };
    if let Isolation::Loopback(why) = bed.isolation() {
        let i = args.iter().position(|a| a == "--bind").unwrap() + 1;
        let narrowed = format!("tcp://{}:*", host.addr());
        let _ = writeln!(
            std::io::stderr(),
            "no namespace ({why}): {} binds {narrowed} instead of {}",
            container.argv[0],
            args[i]
        );
        args[i] = narrowed;
    }
    let mut command = host.command(bin);
    command.args(&args);
    let server = ServerProcess::spawn(command);
    if bed.isolation() == &Isolation::Namespaces {
        assert_eq!(server.endpoint, format!("tcp://0.0.0.0:{}", container.port));
    }
    let endpoint = endpoint_at(&server);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let plug = plug::PlugBuilder::new("probe")
                .connect_to(&endpoint)
                .timeout(DEADLINE)
                .rpc()
                .unwrap();
            let reply = plug
                .request(serde_json::json!({"method": "ping"}))
                .await
                .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
            assert_eq!(reply.result(), "pong");
        });
    let counts = server.terminate();
    assert_eq!(counts.received, 1, "{counts:?}");
}
