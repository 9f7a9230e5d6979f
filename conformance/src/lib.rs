//! plug-conformance: checks that an external server speaks the plug wire
//! protocol (PROTOCOL.md at the root of the repository).
//!
//! Every case cites the numbered requirements of PROTOCOL.md it checks and
//! is graded `pass`, `fail`, `non-strict`, `unimplemented`, `info` or
//! `not-run`. Requests are the literal bytes each case writes, and what must
//! come back is derived from those bytes; replies are read with
//! `serde_json` and this crate's own id rules, never with the protocol code
//! the kit's servers share.
//!
//! Layout:
//! - `spec`, [`coverage`]: the numbered requirements, read from PROTOCOL.md
//!   itself, and which cases check each one on which path;
//! - `case`: what a case is ([`Case`], [`Requirement`], [`Profile`]);
//! - `cases/`: every case, one file per family (`rpc_id.rs` is `rpc.id.*`);
//! - `conn`, `trace`: a traced blocking client connection with bounded
//!   waits, on libzmq or on the native transport (`plug-zmtp`), one API for
//!   the cases;
//! - `json`, `rpc`, `raw_conn`, `hints`: the judge: every message read,
//!   matched to what was sent and graded in full, with the usual cause of
//!   each failure;
//! - `probe`: the ZeroMQ handshake, the first answer, liveness;
//! - `runner`: one thread and one scaled deadline per case, crashes and
//!   hangs, `--restart`;
//! - `select`, `expected`, `endpoint`: `--only`/`--skip` patterns,
//!   `--expected-failures`, endpoint syntax;
//! - `spawn`: `check --spawn`, a server process on a free endpoint;
//! - [`check`]: the `check` subcommand from options to [`Report`];
//! - [`report`]: the result model and its terminal, JSON, JUnit and HTML forms;
//! - [`bench`]: the `bench` subcommand, latency and throughput under load;
//! - [`broken`]: a server that breaks one rule on purpose, to prove the cases;
//! - [`bundled`]: the correct echo servers, run in-process.

mod case;
mod cases;
mod conn;
mod endpoint;
mod expected;
mod hints;
mod json;
mod probe;
mod raw_conn;
mod rpc;
mod runner;
mod select;
mod spawn;
mod spec;
mod trace;

pub mod bench;
pub mod broken;
pub mod bundled;
pub mod check;
pub mod coverage;
pub mod report;

pub use case::{family_of, Case, Path, Profile, Requirement, Thresholds};
pub use cases::all as all_cases;
pub use check::{check, CheckError, CheckOptions, Target};
pub use endpoint::check as check_endpoint;
pub use expected::ExpectedFailures;
pub use report::{CaseResult, Outcome, Report, Summary};
pub use select::{matches, select};
pub use spawn::{free_endpoint, Spawned};
pub use spec::{rules as spec_rules, Rule};
