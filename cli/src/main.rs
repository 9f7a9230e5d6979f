//! `plug`: talk to an external server from the command line.
//!
//! The `plug-cli` crate, installed with `cargo install --path cli`. Thin
//! over the library: `args` parses flags, `target` turns an endpoint or
//! a configured plug into a plug, `commands` runs one command (`request`
//! and `listen` have files of their own), `body` reads `-` and `@FILE`
//! arguments, `render` prints frames safely, `output` writes to a stdout
//! that may close early, `new` writes a server template (`vendor` copies
//! the plug crate into a Rust one), `keygen` makes CURVE key pairs, and
//! `failure` holds the exit statuses.

mod args;
mod body;
mod commands;
mod failure;
mod keygen;
mod listen;
mod new;
mod output;
mod render;
mod request;
mod target;
mod vendor;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    plug_flags::init_logging(args.log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(failure::EXIT_TRANSPORT);
        }
    };
    match runtime.block_on(commands::run(args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.reason);
            ExitCode::from(failure.code)
        }
    }
}
