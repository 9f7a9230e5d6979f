//! A server that breaks one protocol rule on purpose (`--break none`: a
//! correct one), for proving that plug-conformance catches each break.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use plug_conformance::broken::{serve, Break, RULES};
use plug_conformance::Profile;

#[derive(Parser)]
#[command(name = "plug-broken-server", version, about, after_help = rules_help())]
struct Args {
    /// The rule to break (see the list below).
    #[arg(long = "break", default_value = "none")]
    rule: Break,
    /// Where to bind, e.g. tcp://127.0.0.1:5555 or tcp://127.0.0.1:*.
    #[arg(long)]
    bind: String,
    /// rpc (rpc mode) or raw (echo every message).
    #[arg(long, value_enum, default_value_t = Profile::Rpc)]
    mode: Profile,
}

fn rules_help() -> String {
    let mut s = String::from("Rules:\n");
    for (name, what) in RULES {
        s.push_str(&format!("  {name:<24} {what}\n"));
    }
    s
}

fn main() -> ExitCode {
    let args = Args::parse();
    let run = || -> Result<(), zmq::Error> {
        let sock = plug::socket::context().socket(zmq::ROUTER)?;
        sock.set_linger(0)?;
        sock.bind(&args.bind)?;
        let endpoint = sock.get_last_endpoint()?.unwrap_or_default();
        println!(
            "plug-broken-server ({} mode, break {}) listening on {endpoint}",
            args.mode, args.rule
        );
        serve(&sock, args.mode, args.rule, &AtomicBool::new(false))
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plug-broken-server: {e}");
            ExitCode::from(2)
        }
    }
}
