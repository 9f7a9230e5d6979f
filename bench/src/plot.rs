//! The SVG beside the table, drawn by the same module as `plug-conformance
//! bench --html`: throughput against requests in flight, and each row's
//! latency percentile curve at 1 in flight, both at one payload size and on
//! log axes.

use std::path::Path;

use plug_conformance::bench::plot::{self, Axis, Chart, Scale, Series, Ticks};

use crate::plan::Cell;

/// Draws `cells` (the rows in `order`) at payload `size` into `path`.
pub fn draw(path: &Path, cells: &[Cell], order: &[&str], size: usize) -> anyhow::Result<()> {
    let at = |row: &str| -> Vec<&Cell> {
        cells
            .iter()
            .filter(|c| c.row == row && c.size == size && c.measured.ok > 0)
            .collect()
    };
    let throughput = Chart {
        title: format!("throughput, {size} B payload"),
        x: Axis::new("requests in flight", Scale::Log, Ticks::Plain),
        y: Axis::new("round trips / s", Scale::Log, Ticks::Count),
        series: order
            .iter()
            .map(|row| {
                let mut points: Vec<(f64, f64)> = at(row)
                    .iter()
                    .map(|c| (c.window as f64, c.measured.msgs_per_s))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name: (*row).to_owned(),
                    points,
                }
            })
            .collect(),
    };
    let latency = plot::percentile_chart(
        &format!("latency, {size} B, 1 in flight"),
        order
            .iter()
            .filter_map(|row| {
                let cell = at(row).into_iter().find(|c| c.window == 1)?;
                Some(Series {
                    name: (*row).to_owned(),
                    points: cell.measured.curve.clone(),
                })
            })
            .collect(),
    );
    std::fs::write(path, plot::svg(&[throughput, latency], 1200, 520)?)?;
    Ok(())
}
