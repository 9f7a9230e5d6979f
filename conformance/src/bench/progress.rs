//! Live progress on stderr: elapsed time, requests sent, ok, errors,
//! timeouts, the rate of the last second and the p99 so far. A line redrawn
//! in place on a terminal; a plain line a second otherwise (a CI log).

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::tally::Counts;
use super::text::{count, micros, rate};

enum Out {
    Off,
    Bar(indicatif::ProgressBar),
    Lines,
}

pub(crate) struct Progress {
    out: Out,
    /// `run 2/5: ` with several runs.
    label: String,
    /// The last whole second a plain line was printed for.
    printed: u64,
    /// (elapsed, ok) over the last second, for the current rate.
    recent: VecDeque<(Duration, u64)>,
}

impl Progress {
    /// Shown when `enabled`: redrawn on a terminal, lines otherwise.
    pub fn new(enabled: bool) -> Progress {
        let out = if !enabled {
            Out::Off
        } else if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            Out::Bar(bar)
        } else {
            Out::Lines
        };
        Progress {
            out,
            label: String::new(),
            printed: 0,
            recent: VecDeque::new(),
        }
    }

    /// A new phase, named `label` in the lines (empty for a single run).
    pub fn start(&mut self, label: &str) {
        self.label = label.to_owned();
        self.printed = 0;
        self.recent.clear();
    }

    /// The state at `elapsed`; `latency` is what has been recorded so far.
    pub fn tick(&mut self, elapsed: Duration, counts: &Counts, latency: &Histogram<u64>) {
        if matches!(self.out, Out::Off) {
            return;
        }
        self.recent.push_back((elapsed, counts.ok));
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| elapsed.saturating_sub(*t) > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        let current = match self.recent.front() {
            Some((t, ok)) if elapsed > *t => (counts.ok - ok) as f64 / (elapsed - *t).as_secs_f64(),
            _ => 0.0,
        };
        let p99 = if latency.is_empty() {
            "-".to_owned()
        } else {
            micros(latency.value_at_quantile(0.99) as f64)
        };
        let line = format!(
            "{}{:>6.1} s  sent {}  ok {}  errors {}  timeouts {}  {}/s  p99 {p99}",
            self.label,
            elapsed.as_secs_f64(),
            count(counts.sent),
            count(counts.ok),
            count(counts.errors),
            count(counts.timeouts),
            rate(current),
        );
        match &self.out {
            Out::Bar(bar) => bar.set_message(line),
            Out::Lines => {
                let second = elapsed.as_secs();
                if second > self.printed {
                    self.printed = second;
                    eprintln!("{line}");
                }
            }
            Out::Off => {}
        }
    }

    /// A line of its own, above the progress.
    pub fn note(&mut self, text: &str) {
        match &self.out {
            Out::Bar(bar) => bar.println(text),
            Out::Lines | Out::Off => eprintln!("{text}"),
        }
    }

    /// Clears the redrawn line.
    pub fn finish(&mut self) {
        if let Out::Bar(bar) = &self.out {
            bar.finish_and_clear();
        }
    }
}
