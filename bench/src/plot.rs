//! The SVG beside the table: throughput against requests in flight, and
//! latency percentiles one at a time, both at 64-byte payloads, log scales.

use std::path::Path;

use plotters::prelude::*;

use crate::plan::Cell;

const COLORS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

/// Draws `cells` (the rows in `order`) at payload `size` into `path`.
pub fn draw(path: &Path, cells: &[Cell], order: &[&str], size: usize) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let at = |row: &str| -> Vec<&Cell> {
        cells
            .iter()
            .filter(|c| c.row == row && c.size == size && c.measured.ok > 0)
            .collect()
    };

    let max_rate = cells
        .iter()
        .map(|c| c.measured.msgs_per_s)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&left)
        .caption(format!("throughput, {size} B payload"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (0.5f64..300f64).log_scale(),
            (10f64..max_rate * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("requests in flight (log)")
        .y_desc("round trips / s (log)")
        .draw()?;
    for (i, row) in order.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points: Vec<(f64, f64)> = at(row)
            .iter()
            .map(|c| (c.window as f64, c.measured.msgs_per_s.max(10.0)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*row)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let max_us = cells
        .iter()
        .filter(|c| c.size == size && c.window == 1)
        .map(|c| c.measured.latency.max as f64)
        .fold(10.0, f64::max);
    let names = ["p50", "p90", "p99", "p99.9", "max"];
    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("latency, {size} B, 1 in flight"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..4f64, (1f64..max_us * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(5)
        .x_label_formatter(&|x| {
            names
                .get(x.round() as usize)
                .map(|s| s.to_string())
                .unwrap_or_default()
        })
        .y_desc("microseconds (log)")
        .draw()?;
    for (i, row) in order.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let Some(c) = at(row).into_iter().find(|c| c.window == 1) else {
            continue;
        };
        let l = c.measured.latency;
        let points: Vec<(f64, f64)> = [l.p50, l.p90, l.p99, l.p999, l.max]
            .iter()
            .enumerate()
            .map(|(x, &v)| (x as f64, (v as f64).max(1.0)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*row)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
