//! [`stopped_line`]: how a server binary reports its counters when it
//! stops, one JSON object on one line, for people and for tests alike.

use plug::server::Stats;
use serde::Serialize;

#[derive(Serialize)]
struct Stopped<'a> {
    event: &'static str,
    #[serde(flatten)]
    stats: &'a Stats,
}

/// `{"event":"stopped","received":3,"replied":3,...}`: the line a server
/// binary prints on stderr as it exits, after its serving loop has returned.
///
/// ```
/// let line = plug_flags::stopped_line(&plug::server::Stats::default());
/// assert!(line.starts_with(r#"{"event":"stopped","received":0,"#));
/// ```
pub fn stopped_line(stats: &Stats) -> String {
    serde_json::to_string(&Stopped {
        event: "stopped",
        stats,
    })
    .expect("counters serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_back_as_the_stats() {
        let line = stopped_line(&Stats::default());
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "stopped");
        assert_eq!(value["dropped_other"], 0);
        let back: Stats = serde_json::from_value(value).unwrap();
        assert_eq!(back, Stats::default());
    }
}
