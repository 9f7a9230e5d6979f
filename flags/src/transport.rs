//! [`TransportFlag`]: `--transport native|libzmq`, for a server binary or
//! the `plug` tool.

use clap::Args;
use plug::transport::Transport;

/// The transport a program serves or connects on.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct TransportFlag {
    /// native: ZMTP spoken by this program on tokio (tcp:// and ipc://, no
    /// CURVE); libzmq: the ZeroMQ library (every endpoint kind, CURVE)
    /// [default: native for tcp:// and ipc:// without CURVE, else libzmq].
    /// Both speak the same wire protocol.
    #[arg(long, value_name = "NAME", value_parser = parse)]
    pub transport: Option<Transport>,
}

fn parse(text: &str) -> Result<Transport, String> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        transport: TransportFlag,
    }

    #[test]
    fn names_the_two_transports_and_refuses_others() {
        let given = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
                .map(|c| c.transport.transport)
                .map_err(|e| e.to_string())
        };
        assert_eq!(given(&[]), Ok(None));
        assert_eq!(
            given(&["--transport", "native"]),
            Ok(Some(Transport::Native))
        );
        assert_eq!(
            given(&["--transport", "libzmq"]),
            Ok(Some(Transport::Libzmq))
        );
        let e = given(&["--transport", "zmq"]).unwrap_err();
        assert!(
            e.contains("--transport") && e.contains("expected `native` or `libzmq`"),
            "{e}"
        );
    }
}
