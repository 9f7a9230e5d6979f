//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use plug::protocol::EnvelopeStyle;

/// Talk to an external server over ZeroMQ, as a plug does.
#[derive(Parser, Debug)]
#[command(
    name = "plug",
    version,
    after_help = crate::failure::EXIT_STATUSES
)]
pub struct Cli {
    /// Log plug traffic (-v: debug, -vv: trace). RUST_LOG overrides this.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send one JSON request (rpc mode) and print the whole reply.
    ///
    /// The plug writes its own `id` into the request (1), as every plug does;
    /// --keep-id sends the request as given. A reply that comes back with an
    /// id the plug did not send is shown and named as such (PROTOCOL.md 5.2).
    ///
    /// Example: plug request tcp://127.0.0.1:5000 '{"method":"ping"}'
    Request {
        /// ENDPOINT then JSON; with --config and --plug, only JSON. JSON may
        /// be `-` (read stdin) or `@FILE` (read FILE), for bodies too large
        /// for the command line.
        #[arg(value_names = ["ENDPOINT", "JSON"], num_args = 1..=2, required = true)]
        args: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
        /// Print the reply on one line instead of indented.
        #[arg(long)]
        compact: bool,
        /// Send the request byte for byte as given, `id` included (any JSON
        /// id, e.g. 18446744073709551615 or "a"), and wait for the reply
        /// with that id. The reply is printed exactly as it arrived.
        #[arg(long)]
        keep_id: bool,
        /// When the command ends, print the plug's counters on stderr as one
        /// JSON line: each endpoint's state, requests sent, answered and
        /// timed out, and what discovery found for a dns+tcp:// endpoint.
        #[arg(long, conflicts_with = "keep_id")]
        stats: bool,
    },

    /// Send one raw message (any bytes, one or more frames).
    ///
    /// Example: plug send tcp://127.0.0.1:5000 hello --wait
    Send {
        /// ENDPOINT then DATA (the first frame); with --config and --plug,
        /// only DATA. DATA is text, `-` (read stdin) or `@FILE` (read FILE);
        /// it may be left out when --file or --frame gives the frames.
        #[arg(value_names = ["ENDPOINT", "DATA"], num_args = 0..=2)]
        args: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
        /// A frame read from a file (repeatable, in order, after DATA).
        #[arg(long, value_name = "FILE")]
        file: Vec<PathBuf>,
        /// A frame given as text (repeatable, in order, after the files).
        #[arg(long, value_name = "TEXT")]
        frame: Vec<String>,
        /// Wait for one message back and print it.
        #[arg(long)]
        wait: bool,
        /// Print frames as hex instead of escaped text.
        #[arg(long)]
        hex: bool,
    },

    /// Print every message the server sends to this plug until stopped.
    ///
    /// A ROUTER server only knows a plug once it has heard from it, so
    /// --send or --request usually says hello first (game-server, for
    /// example, wants {"method":"subscribe"}). Stops at Ctrl-C, after
    /// --count messages (the reply to --request is the first) or when
    /// --timeout runs out: with --count, too few messages by then is status 3.
    Listen {
        /// The server's endpoint; left out with --config and --plug.
        #[arg(value_name = "ENDPOINT")]
        endpoint: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
        /// Raw text to send first (`-`: stdin, `@FILE`: a file).
        #[arg(long, value_name = "DATA", conflicts_with = "request")]
        send: Option<String>,
        /// A JSON request to send first (rpc mode; `-`: stdin, `@FILE`: a
        /// file); its reply is printed.
        #[arg(long, value_name = "JSON")]
        request: Option<String>,
        /// Stop after this many messages, the reply to --request included.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Print frames as hex instead of escaped text.
        #[arg(long)]
        hex: bool,
        /// One JSON object per line, for jq: `{"message":N,"kind":...,
        /// "frames":[...],"json":...}`; a frame is a string, or {"hex":...}
        /// when it is not UTF-8 (or with --hex); `json` is the body parsed,
        /// when it is one frame of JSON.
        #[arg(long)]
        json: bool,
    },

    /// Write a fresh copy of an external-server template into DIR.
    ///
    /// The templates are embedded in this binary, so this works offline and
    /// from any folder. Example: plug new python my-service
    New {
        /// python, ruby, php, java, node, c, rails or rust (see --list).
        #[arg(value_name = "LANG", required_unless_present = "list")]
        lang: Option<String>,
        /// The folder to create.
        #[arg(value_name = "DIR", required_unless_present = "list")]
        dir: Option<PathBuf>,
        /// List the templates.
        #[arg(long)]
        list: bool,
        /// Write into DIR even if it is not empty.
        #[arg(long)]
        force: bool,
    },

    /// Check that a server is ready: exit 0 when it answers a ping (with
    /// --raw: echoes a message) within --timeout, else a one-line reason.
    ///
    /// For readiness probes. Example: plug probe tcp://127.0.0.1:9000
    Probe(crate::probe::ProbeArgs),

    /// Make a new CURVE key pair (Z85) for a plug or a server.
    ///
    /// Prints `public_key = "..."` and `secret_key = "..."` lines ready for
    /// a plug's config, or with --out FILE writes the secret key to FILE
    /// (mode 0600) and the public key to FILE.pub. Works in every build
    /// (encrypting needs the secure build; see the README).
    Keygen {
        /// Write the secret key to FILE and the public key to FILE.pub.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace existing key files.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

/// Where to connect: an endpoint given on the command line, or a plug from
/// a configuration file.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// A TOML file with a [plug_sockets] section.
    #[arg(long, value_name = "FILE", requires = "plug")]
    pub config: Option<PathBuf>,
    /// The name of a plug in --config, used instead of ENDPOINT.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub plug: Option<String>,
    /// How long to wait for a reply, in milliseconds [default: 5000, or the
    /// plug's timeout_ms]. For listen: how long to listen in all.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// bare sends [body]; delimited sends ["", body] like a REQ socket [default: bare].
    #[arg(long, value_name = "STYLE")]
    pub envelope: Option<EnvelopeStyle>,
    /// Encrypt with CURVE to a server with this public key (Z85) [default:
    /// the plug's server_key, or plain text].
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub server_key: Option<String>,
    /// This plug's CURVE secret key, in a file (from `plug keygen --out`);
    /// its public key is what the server's allow-list needs [default: a new
    /// key pair].
    #[arg(long, value_name = "FILE", requires = "server_key")]
    pub secret_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub transport: plug_flags::TransportFlag,
}
