//! plug-conformance: checks that an external server speaks the plug wire
//! protocol (PROTOCOL.md at the root of the repository).
//!
//! Numbered cases cite the section they check and are graded `pass`,
//! `fail`, `non-strict`, `unimplemented` or `info`. Requests are built and
//! replies read with `plug::protocol`, the one definition of the wire format.
//!
//! Layout:
//! - `case`: what a case is ([`Case`], [`Requirement`], [`Profile`]);
//! - `cases/`: every case, one file per family (`rpc_id.rs` is `rpc.id.*`);
//! - `trace`, `conn`, `rpc`, `probe`: the wire under a case: traced blocking
//!   sockets with bounded waits, rpc-mode helpers, the liveness probe;
//! - `runner`: one thread and one deadline per case;
//! - `select`, `expected`: `--only`/`--skip` patterns, `--expected-failures`;
//! - `spawn`: `check --spawn`, a server process on a free endpoint;
//! - [`check`]: the `check` subcommand from options to [`Report`];
//! - [`report`]: the result model and its terminal, JSON, JUnit and HTML forms;
//! - [`bench`]: the `bench` subcommand, latency and throughput under load;
//! - [`broken`]: a server that breaks one rule on purpose, to prove the cases;
//! - [`bundled`]: the correct echo servers, run in-process.

mod case;
mod cases;
mod conn;
mod expected;
mod probe;
mod rpc;
mod runner;
mod select;
mod spawn;
mod trace;

pub mod bench;
pub mod broken;
pub mod bundled;
pub mod check;
pub mod report;

pub use case::{family_of, Case, Profile, Requirement, Thresholds};
pub use cases::all as all_cases;
pub use check::{check, CheckError, CheckOptions, Target};
pub use expected::ExpectedFailures;
pub use report::{CaseResult, Outcome, Report, Summary};
pub use select::{matches, select};
pub use spawn::{free_endpoint, Spawned};
