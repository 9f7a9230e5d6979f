//! `plug`: talk to an external server from the command line.
//!
//! The `plug-cli` crate, installed with `cargo install --path cli`. Thin
//! over the library: `args` parses flags, `target` turns an endpoint or
//! a configured plug into a plug, `commands` runs one command, `render`
//! prints frames and replies safely, `new` writes a server template,
//! `keygen` makes CURVE key pairs.

mod args;
mod commands;
mod keygen;
mod new;
mod render;
mod target;

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
            return ExitCode::from(commands::EXIT_TRANSPORT);
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
