//! The picture: p99 latency and throughput per second, breaker on against breaker off, with the
//! time Redis was paused shaded.

use std::error::Error;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::{Run, Summary};

const ON: RGBColor = RGBColor(0x1b, 0x7f, 0x3b);
const OFF: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const PAUSED: RGBColor = RGBColor(0xee, 0xee, 0xee);

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn label(run: &Run) -> &'static str {
    if run.breaker {
        "with failfast"
    } else {
        "without a breaker"
    }
}

fn color(run: &Run) -> RGBColor {
    if run.breaker { ON } else { OFF }
}

/// Each second's value as a flat step over that second, so that a change shows where it
/// happened; seconds without requests are left out.
fn steps(run: &Run, value: impl Fn(&Summary) -> f64) -> Vec<(f64, f64)> {
    let seconds = run
        .per_second
        .iter()
        .enumerate()
        .filter(|(_, s)| s.requests > 0);
    seconds
        .flat_map(|(s, sum)| [(s as f64, value(sum)), (s as f64 + 1.0, value(sum))])
        .collect()
}

/// Draws `runs` into a PNG at `path`.
pub fn draw(path: &Path, runs: &[Run]) -> Result<(), Box<dyn Error>> {
    register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the chart's font did not load")?;
    let Some(first) = runs.first() else {
        return Err("no runs to draw".into());
    };
    let seconds = runs.iter().map(|r| r.per_second.len()).max().unwrap_or(0) as f64;
    let (paused, resumed) = (
        first.paused_at.as_secs_f64(),
        first.resumed_at.as_secs_f64(),
    );

    let root = BitMapBackend::new(path, (1100, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "The visits app under load: Redis healthy, paused, resumed",
        ("sans-serif", 26),
    )?;
    let (top, bottom) = root.split_vertically(400);

    let (low, high) = (0.05, 1000.0);
    let mut latency = ChartBuilder::on(&top)
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..seconds, (low..high).log_scale())?;
    latency
        .configure_mesh()
        .y_desc("p99 latency per second (ms)")
        .y_label_formatter(&|v| format!("{v}"))
        .x_desc("seconds")
        .label_style(("sans-serif", 15))
        .draw()?;
    latency.draw_series([Rectangle::new(
        [(paused, low), (resumed, high)],
        PAUSED.filled(),
    )])?;
    latency.draw_series([Text::new(
        "Redis paused",
        (paused + 0.3, high / 2.0),
        ("sans-serif", 18),
    )])?;
    for run in runs {
        let line = color(run);
        latency
            .draw_series(LineSeries::new(
                steps(run, |sum| millis(sum.p99).clamp(low, high)),
                line.stroke_width(3),
            ))?
            .label(label(run))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], line.stroke_width(3)));
    }
    latency
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    let most = runs
        .iter()
        .flat_map(|r| r.per_second.iter().map(|s| s.throughput))
        .fold(0.0, f64::max)
        * 1.15;
    let mut throughput = ChartBuilder::on(&bottom)
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..seconds, 0f64..most.max(1.0))?;
    throughput
        .configure_mesh()
        .y_desc("requests per second")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_desc("seconds")
        .label_style(("sans-serif", 15))
        .draw()?;
    throughput.draw_series([Rectangle::new(
        [(paused, 0.0), (resumed, most)],
        PAUSED.filled(),
    )])?;
    for run in runs {
        throughput.draw_series(LineSeries::new(
            steps(run, |sum| sum.throughput),
            color(run).stroke_width(3),
        ))?;
    }
    root.present()?;
    Ok(())
}
