//! plug-flags: what the kit's programs share on the command line, so that
//! the `plug` library itself carries no command-line parser and no log
//! subscriber.
//!
//! Layout:
//! - `curve`: [`CurveFlags`], the CURVE options of a server binary
//!   (`--curve-secret-key`, `--curve-allow`, ...), a clap `Args` to
//!   `#[command(flatten)]` into its own;
//! - `logging`: [`init_logging`], the one `tracing` set-up of every binary:
//!   stderr, `RUST_LOG` over a default level, colour only on a terminal and
//!   never with `NO_COLOR`.

mod curve;
mod logging;

pub use curve::CurveFlags;
pub use logging::{init_logging, use_colour};
