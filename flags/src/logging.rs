//! [`init_logging`]: where a binary's `tracing` output goes and how it looks.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends log lines to stderr, filtered by `RUST_LOG` when it is set and
/// valid, else at `default_level` (e.g. `"info"`, `"warn"`). Colour is used
/// only when stderr is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>), so redirected logs hold no escape codes.
///
/// Call it once, first thing in `main`; a second call does nothing.
///
/// ```
/// // First thing in `main`, before parsing flags or starting a runtime:
/// plug_flags::init_logging("warn");
/// ```
pub fn init_logging(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let ansi = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(ansi)
        .try_init();
}

/// Whether log lines get colour: on a terminal, unless `NO_COLOR` is set to
/// anything but the empty string.
pub fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && !matches!(no_color, Some(v) if !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, Some(OsStr::new("1"))));
    }
}
