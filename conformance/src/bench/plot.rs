//! Line charts as SVG text, for `bench --html` and for `plug-bench --out`:
//! one module draws both, so a latency curve looks the same in either.
//!
//! A [`Chart`] is a title, two axes (linear or log, with tick labels in
//! the bench's units) and named series of points. [`svg`] draws charts side
//! by side into one self-contained `<svg>` element. [`percentile_curve`]
//! turns a latency histogram into the classic HdrHistogram plot: latency
//! against percentile, the percentile axis logarithmic in `1 / (1 - q)`,
//! so 90%, 99%, 99.9% and 99.99% are evenly spaced.

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::text::{count, micros};

/// How an axis is scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    Linear,
    Log,
}

/// How an axis's tick labels read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ticks {
    /// The number as it is.
    Plain,
    /// `1 / (1 - q)` shown as the percentile `q`: 10 is `90%`.
    Percentile,
    /// Microseconds shown in µs, ms or s.
    Micros,
    /// A count with separators; nothing between whole numbers.
    Count,
    /// A whole number (seconds into a run); nothing between them.
    Whole,
}

/// One axis.
#[derive(Clone, Debug)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    pub ticks: Ticks,
}

impl Axis {
    pub fn new(label: &str, scale: Scale, ticks: Ticks) -> Axis {
        Axis {
            label: label.to_owned(),
            scale,
            ticks,
        }
    }
}

/// A named line.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A chart: a title, its axes and its lines.
#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct PlotError(String);

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

/// The points of a latency histogram's percentile curve: `x` is
/// `1 / (1 - q)` (1 at the median's left end, 100 at the 99th percentile),
/// `y` the latency in µs. The curve stops where the histogram runs out of
/// samples, at most at 99.9999%, and ends at the maximum.
pub fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let last = (h.len() as f64).clamp(1.0, 1e6);
    let steps = (last.log10() * 10.0).floor() as u32;
    let mut points: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let x = 10f64.powf(f64::from(i) / 10.0);
            (x, h.value_at_quantile(1.0 - 1.0 / x) as f64)
        })
        .collect();
    points.push((last.max(points.last().map_or(1.0, |p| p.0)), h.max() as f64));
    points
}

/// A latency percentile chart of `series` (from [`percentile_curve`]).
pub fn percentile_chart(title: &str, series: Vec<Series>) -> Chart {
    Chart {
        title: title.to_owned(),
        x: Axis::new("percentile", Scale::Log, Ticks::Percentile),
        y: Axis::new("latency", Scale::Log, Ticks::Micros),
        series,
    }
}

/// `charts` side by side in one SVG of `width` x `height` pixels.
pub fn svg(charts: &[Chart], width: u32, height: u32) -> Result<String, PlotError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let areas = root.split_evenly((1, charts.len().max(1)));
        for (chart, area) in charts.iter().zip(areas.iter()) {
            draw(chart, area)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn err(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// The data's extent on one axis, made drawable: positive for a log axis,
/// never empty.
fn extent(values: impl Iterator<Item = f64>, scale: Scale) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (1.0, 10.0);
    }
    match scale {
        Scale::Log => {
            if hi <= lo {
                hi = lo * 10.0;
            }
            (lo / 1.2, hi * 1.2)
        }
        Scale::Linear => {
            let lo = lo.min(0.0);
            if hi <= lo {
                hi = lo + 1.0;
            }
            (lo, hi * 1.05)
        }
    }
}

fn draw<DB: DrawingBackend>(
    chart: &Chart,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), PlotError> {
    let xs = extent(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0)),
        chart.x.scale,
    );
    let ys = extent(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1)),
        chart.y.scale,
    );
    let linear = |(a, b): (f64, f64)| -> RangedCoordf64 { (a..b).into() };
    match (chart.x.scale, chart.y.scale) {
        (Scale::Linear, Scale::Linear) => lines(chart, area, linear(xs), linear(ys)),
        (Scale::Linear, Scale::Log) => lines(chart, area, linear(xs), (ys.0..ys.1).log_scale()),
        (Scale::Log, Scale::Linear) => lines(chart, area, (xs.0..xs.1).log_scale(), linear(ys)),
        (Scale::Log, Scale::Log) => lines(
            chart,
            area,
            (xs.0..xs.1).log_scale(),
            (ys.0..ys.1).log_scale(),
        ),
    }
}

fn label(ticks: Ticks, v: f64) -> String {
    match ticks {
        Ticks::Plain => {
            if v.fract() == 0.0 || v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
        Ticks::Count | Ticks::Whole if v.fract().abs() > 1e-9 => String::new(),
        Ticks::Count => count(v.max(0.0).round() as u64),
        Ticks::Whole => format!("{v:.0}"),
        Ticks::Micros => micros(v),
        Ticks::Percentile => {
            let p = 100.0 * (1.0 - 1.0 / v.max(1.0));
            let decimals = (v.log10().ceil() as usize).saturating_sub(2);
            format!("{p:.decimals$}%")
        }
    }
}

fn lines<DB, X, Y>(
    chart: &Chart,
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: X,
    y: Y,
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut c = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    let (xt, yt) = (chart.x.ticks, chart.y.ticks);
    let x_label = move |v: &f64| label(xt, *v);
    let y_label = move |v: &f64| label(yt, *v);
    c.configure_mesh()
        .max_light_lines(4)
        .light_line_style(RGBColor(238, 238, 238))
        .x_desc(chart.x.label.as_str())
        .y_desc(chart.y.label.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .draw()
        .map_err(err)?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| {
                x.is_finite()
                    && y.is_finite()
                    && (chart.x.scale == Scale::Linear || *x > 0.0)
                    && (chart.y.scale == Scale::Linear || *y > 0.0)
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        if points.len() <= 12 {
            c.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(err)?;
        }
    }
    if chart.series.len() > 1 {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_ticks_read_as_percentiles() {
        assert_eq!(label(Ticks::Percentile, 1.0), "0%");
        assert_eq!(label(Ticks::Percentile, 10.0), "90%");
        assert_eq!(label(Ticks::Percentile, 100.0), "99%");
        assert_eq!(label(Ticks::Percentile, 1000.0), "99.9%");
        assert_eq!(label(Ticks::Percentile, 10000.0), "99.99%");
        assert_eq!(label(Ticks::Micros, 2500.0), "2.50 ms");
    }

    #[test]
    fn the_curve_climbs_to_the_maximum() {
        let mut h = crate::bench::tally::new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let curve = percentile_curve(&h);
        assert_eq!(curve.first().unwrap().0, 1.0);
        assert_eq!(curve.last().unwrap(), &(10_000.0, h.max() as f64));
        assert!(curve
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        // x = 100 is the 99th percentile.
        let p99 = curve.iter().find(|p| (p.0 - 100.0).abs() < 1e-6).unwrap().1;
        assert_eq!(p99, h.value_at_quantile(0.99) as f64);
        assert!(percentile_curve(&crate::bench::tally::new_histogram()).is_empty());
    }

    #[test]
    fn charts_draw_as_one_svg() {
        let chart = Chart {
            title: "throughput".into(),
            x: Axis::new("s", Scale::Linear, Ticks::Plain),
            y: Axis::new("msgs/s", Scale::Linear, Ticks::Count),
            series: vec![Series {
                name: "ok".into(),
                points: vec![(0.0, 10.0), (1.0, 20.0)],
            }],
        };
        let empty = percentile_chart("latency", vec![]);
        let text = svg(&[chart, empty], 800, 300).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..80]);
        assert!(text.contains("throughput") && text.contains("latency"));
        assert!(text.contains("<polyline"));
    }
}
