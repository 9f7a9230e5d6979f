//! Test helpers shared across the kit's crates, used as a dev-dependency
//! (and by the fuzz targets, outside the workspace).
//!
//! Layout:
//! - [`router`]: [`router::TestRouter`], a ROUTER on a loopback port that a
//!   test drives frame by frame, and [`router::within`], the deadline every
//!   networked test waits under;
//! - [`process`]: [`process::ServerProcess`], a server binary run as a child
//!   process (its `listening on` line, signals, its final counters);
//! - [`load`]: many plugs at once against a server binary, spread over
//!   child processes;
//! - [`testbed`]: [`testbed::TestBed`], hosts in network namespaces of
//!   their own (or on distinct loopback addresses) and a real DNS server
//!   ([`testbed::Dns`], dnsmasq) serving their addresses under one name;
//! - [`kubernetes`]: checks of the manifests in `deploy/kubernetes/`;
//! - [`checks`]: what the fuzz targets check, one function per target, also
//!   replayed over the stored corpus by `client/tests/props.rs`;
//! - [`terminal`]: what a program writes on a terminal and on a pipe (log
//!   colour).

pub mod checks;
pub mod kubernetes;
pub mod load;
pub mod process;
pub mod router;
pub mod terminal;
pub mod testbed;
