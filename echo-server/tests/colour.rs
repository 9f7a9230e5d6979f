//! Log lines carry ANSI colour only on a terminal, and never with NO_COLOR
//! set: redirected logs (a file, the harness's `server|` lines) hold no
//! escape codes.

use plug_test_support::terminal::{stderr_on, Sink};

const BIN: &str = env!("CARGO_BIN_EXE_echo-server");
/// An endpoint libzmq refuses: the server logs an error and exits.
const ARGS: &[&str] = &["--bind", "tcp://no-such-interface-or-host.invalid:1"];

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let piped = stderr_on(BIN, ARGS, Sink::Pipe, None);
    assert!(piped.contains("ERROR"), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped:?}");

    let terminal = stderr_on(BIN, ARGS, Sink::Terminal, None);
    assert!(terminal.contains("ERROR"), "{terminal}");
    assert!(terminal.contains("\x1b["), "{terminal:?}");

    let no_color = stderr_on(BIN, ARGS, Sink::Terminal, Some("1"));
    assert!(no_color.contains("ERROR"), "{no_color}");
    assert!(!no_color.contains('\x1b'), "{no_color:?}");

    // An empty NO_COLOR does not count (no-color.org).
    let empty = stderr_on(BIN, ARGS, Sink::Terminal, Some(""));
    assert!(empty.contains("\x1b["), "{empty:?}");
}
