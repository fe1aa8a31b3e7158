//! The report's two charts, as a list of filled rectangles in chart units
//! (origin top left, y down). One geometry, two outputs: [`to_png`] rasterises
//! it for HTML and e-mail (mail clients do not render SVG), the PDF renderer
//! draws the same rectangles as vectors. No text in the images: labels, axis
//! ranges and legends are written around them by each renderer, so the
//! report stays readable with images blocked and needs no font here.
//!
//! Deterministic: the same document gives the same bytes.

use crate::model::{Count, Timeline};

/// Width of both charts in chart units (CSS pixels in HTML, points in PDF
/// after scaling).
pub const WIDTH: f32 = 640.0;
pub const TIMELINE_HEIGHT: f32 = 160.0;
/// Categories shown in the bar chart (the legend lists the same ones).
pub const MAX_CATEGORIES: usize = 10;
const ROW: f32 = 22.0;
const BAR: f32 = 14.0;
/// At most this many timeline columns: narrower bars would not be visible.
const MAX_COLUMNS: usize = 160;

pub const BACKGROUND: [u8; 3] = [0xff, 0xff, 0xff];
pub const GRID: [u8; 3] = [0xe5, 0xe7, 0xeb];
pub const EVENTS: [u8; 3] = [0x93, 0xc5, 0xfd];
pub const FLAGGED: [u8; 3] = [0xdc, 0x26, 0x26];

/// Colours of the category bars, in order (the legend uses the same).
pub const PALETTE: [[u8; 3]; MAX_CATEGORIES] = [
    [0xdc, 0x26, 0x26],
    [0xea, 0x58, 0x0c],
    [0xd9, 0x77, 0x06],
    [0x65, 0xa3, 0x0d],
    [0x05, 0x96, 0x69],
    [0x08, 0x91, 0xb2],
    [0x25, 0x63, 0xeb],
    [0x7c, 0x3a, 0xed],
    [0xc0, 0x26, 0xd3],
    [0x6b, 0x72, 0x80],
];

/// A filled rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub color: [u8; 3],
}

/// A chart: its size in chart units and its rectangles, back to front.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

/// The timeline resampled to at most [`MAX_COLUMNS`] evenly spaced columns.
/// Renderers print `start_ms`, `end_ms`, `bucket_ms` and `max` beside the
/// image: they are its axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineBars {
    pub start_ms: i64,
    /// End of the last column.
    pub end_ms: i64,
    /// Width of one column (a multiple of the document's bucket).
    pub bucket_ms: i64,
    /// (events, flagged) per column; flagged is capped at events.
    pub columns: Vec<(u64, u64)>,
    /// The largest events count of a column: the top of the y axis.
    pub max: u64,
}

/// Columns of the timeline: empty buckets are filled in (the document may list
/// only non-empty ones), and neighbouring buckets merged when there are too
/// many to draw. `None` when there is nothing to draw.
pub fn timeline_bars(t: &Timeline) -> Option<TimelineBars> {
    let first = t.points.iter().map(|p| p.t_ms).min()?;
    let last = t.points.iter().map(|p| p.t_ms).max()?;
    let (bucket, slots) = if t.bucket_ms > 0 {
        let span = (i128::from(last) - i128::from(first)) / i128::from(t.bucket_ms) + 1;
        (t.bucket_ms, span)
    } else {
        // No bucket width: one column per point, in time order.
        (0, t.points.len() as i128)
    };
    let merge = ((slots + MAX_COLUMNS as i128 - 1) / MAX_COLUMNS as i128).max(1);
    let n = usize::try_from((slots + merge - 1) / merge).unwrap_or(MAX_COLUMNS);
    let mut columns = vec![(0u64, 0u64); n.max(1)];
    let mut order: Vec<&crate::model::TimelinePoint> = t.points.iter().collect();
    order.sort_by_key(|p| p.t_ms);
    for (i, p) in order.iter().enumerate() {
        let slot = if bucket > 0 {
            (i128::from(p.t_ms) - i128::from(first)) / i128::from(bucket)
        } else {
            i as i128
        };
        let col = usize::try_from(slot / merge)
            .unwrap_or(0)
            .min(columns.len() - 1);
        let c = &mut columns[col];
        c.0 = c.0.saturating_add(p.events);
        c.1 = c.1.saturating_add(p.flagged);
    }
    for c in &mut columns {
        c.1 = c.1.min(c.0);
    }
    let merge64 = i64::try_from(merge).unwrap_or(1);
    let bucket_ms = bucket.saturating_mul(merge64);
    let end_ms = first.saturating_add(bucket_ms.saturating_mul(columns.len() as i64));
    let max = columns.iter().map(|c| c.0).max().unwrap_or(0);
    Some(TimelineBars {
        start_ms: first,
        end_ms: if bucket > 0 { end_ms } else { last },
        bucket_ms,
        columns,
        max,
    })
}

/// Events (light) with the flagged share (red) over them, per column, on a
/// grid of quarters.
pub fn timeline_chart(bars: &TimelineBars) -> Chart {
    let (w, h) = (WIDTH, TIMELINE_HEIGHT);
    let mut shapes = Vec::with_capacity(bars.columns.len() * 2 + 5);
    for q in 0..=4 {
        let y = (h - 1.0) * q as f32 / 4.0;
        shapes.push(Shape {
            x: 0.0,
            y,
            w,
            h: 1.0,
            color: GRID,
        });
    }
    let n = bars.columns.len().max(1) as f32;
    let step = w / n;
    // A gap between bars once they are wide enough to show one.
    let gap = if step >= 4.0 {
        (step * 0.2).min(4.0)
    } else {
        0.0
    };
    let max = bars.max.max(1) as f32;
    for (i, &(events, flagged)) in bars.columns.iter().enumerate() {
        let x = i as f32 * step + gap / 2.0;
        let bw = (step - gap).max(0.5);
        let eh = (events as f32 / max) * (h - 2.0);
        let fh = (flagged as f32 / max) * (h - 2.0);
        if events > 0 {
            shapes.push(Shape {
                x,
                y: h - eh.max(1.0),
                w: bw,
                h: eh.max(1.0),
                color: EVENTS,
            });
        }
        if flagged > 0 {
            shapes.push(Shape {
                x,
                y: h - fh.max(1.0),
                w: bw,
                h: fh.max(1.0),
                color: FLAGGED,
            });
        }
    }
    Chart {
        width: w,
        height: h,
        shapes,
    }
}

/// The categories drawn (at most [`MAX_CATEGORIES`], largest first as the
/// document lists them) with their bar colours: the legend.
pub fn category_legend(categories: &[Count]) -> Vec<(&Count, [u8; 3])> {
    categories
        .iter()
        .take(MAX_CATEGORIES)
        .zip(PALETTE)
        .collect()
}

/// One horizontal bar per category, longest for the largest count.
/// `None` when no category has a count.
pub fn categories_chart(categories: &[Count]) -> Option<Chart> {
    let legend = category_legend(categories);
    let max = legend.iter().map(|(c, _)| c.count).max()?;
    if max == 0 {
        return None;
    }
    let height = ROW * legend.len() as f32;
    let mut shapes = vec![Shape {
        x: 0.0,
        y: 0.0,
        w: 1.0,
        h: height,
        color: GRID,
    }];
    for (i, (c, color)) in legend.iter().enumerate() {
        let len = (c.count as f32 / max as f32) * (WIDTH - 2.0);
        shapes.push(Shape {
            x: 1.0,
            y: i as f32 * ROW + (ROW - BAR) / 2.0,
            w: len.max(1.0),
            h: BAR,
            color: *color,
        });
    }
    Some(Chart {
        width: WIDTH,
        height,
        shapes,
    })
}

/// Rasterise at `scale` pixels per chart unit (2 for sharp images on
/// high-density screens) and encode as PNG. Rectangle edges are rounded to
/// whole pixels: no anti-aliasing needed for axis-aligned bars, and flat
/// colours compress to a few kilobytes.
pub fn to_png(chart: &Chart, scale: u32) -> Result<Vec<u8>, png::EncodingError> {
    let s = scale.max(1) as f32;
    let w = ((chart.width * s).round() as u32).max(1);
    let h = ((chart.height * s).round() as u32).max(1);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for _ in 0..(w * h) {
        rgba.extend_from_slice(&[BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 0xff]);
    }
    for sh in &chart.shapes {
        let x0 = (sh.x * s).round().clamp(0.0, w as f32) as u32;
        let y0 = (sh.y * s).round().clamp(0.0, h as f32) as u32;
        let mut x1 = ((sh.x + sh.w) * s).round().clamp(0.0, w as f32) as u32;
        let mut y1 = ((sh.y + sh.h) * s).round().clamp(0.0, h as f32) as u32;
        // A thin shape is at least one pixel, so no bar vanishes.
        if sh.w > 0.0 && x1 == x0 && x0 < w {
            x1 = x0 + 1;
        }
        if sh.h > 0.0 && y1 == y0 && y0 < h {
            y1 = y0 + 1;
        }
        for y in y0..y1 {
            let row = (y * w) as usize * 4;
            for x in x0..x1 {
                let i = row + x as usize * 4;
                if let Some(px) = rgba.get_mut(i..i + 4) {
                    px.copy_from_slice(&[sh.color[0], sh.color[1], sh.color[2], 0xff]);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgba)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TimelinePoint;

    fn timeline(n: i64, bucket_ms: i64) -> Timeline {
        Timeline {
            bucket_ms,
            points: (0..n)
                .map(|i| TimelinePoint {
                    t_ms: 1_000_000 + i * bucket_ms,
                    events: (i as u64 * 37) % 100 + 5,
                    flagged: (i as u64 * 13) % 10,
                })
                .collect(),
        }
    }

    #[test]
    fn fills_gaps_and_merges_columns() {
        let mut t = timeline(3, 60_000);
        t.points.remove(1);
        let b = timeline_bars(&t).expect("bars");
        assert_eq!(b.columns.len(), 3);
        assert_eq!(b.columns[1], (0, 0));
        assert_eq!(b.end_ms - b.start_ms, 180_000);

        let b = timeline_bars(&timeline(1000, 60_000)).expect("bars");
        assert!(b.columns.len() <= MAX_COLUMNS);
        assert_eq!(b.bucket_ms % 60_000, 0);
        let total: u64 = b.columns.iter().map(|c| c.0).sum();
        let want: u64 = timeline(1000, 60_000).points.iter().map(|p| p.events).sum();
        assert_eq!(total, want);

        assert!(timeline_bars(&Timeline::default()).is_none());
        // Bogus data: points spread over the whole i64 range, a zero bucket.
        let wild = Timeline {
            bucket_ms: 1,
            points: vec![
                TimelinePoint {
                    t_ms: i64::MIN,
                    events: 1,
                    flagged: 5,
                },
                TimelinePoint {
                    t_ms: i64::MAX,
                    events: 2,
                    flagged: 0,
                },
            ],
        };
        let b = timeline_bars(&wild).expect("bars");
        assert!(b.columns.len() <= MAX_COLUMNS);
        assert_eq!(b.columns.first(), Some(&(1, 1)));
        let zero = Timeline {
            bucket_ms: 0,
            ..wild
        };
        assert_eq!(timeline_bars(&zero).expect("bars").columns.len(), 2);
    }

    #[test]
    fn pngs_are_small_valid_and_deterministic() {
        let b = timeline_bars(&timeline(48, 300_000)).expect("bars");
        let chart = timeline_chart(&b);
        let a = to_png(&chart, 2).expect("png");
        assert_eq!(a, to_png(&chart, 2).expect("png"));
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(a.len() < 20_000, "timeline png is {} bytes", a.len());
        let dec = png::Decoder::new(std::io::Cursor::new(a.clone()));
        let reader = dec.read_info().expect("decodes");
        assert_eq!(reader.info().width, 1280);
        assert_eq!(reader.info().height, 320);

        let cats: Vec<Count> = (0..15)
            .map(|i| Count {
                key: format!("c{i}"),
                count: 100 - i * 5,
            })
            .collect();
        let chart = categories_chart(&cats).expect("chart");
        assert_eq!(chart.shapes.len(), 1 + MAX_CATEGORIES);
        let png = to_png(&chart, 2).expect("png");
        assert!(png.len() < 20_000, "categories png is {} bytes", png.len());
        assert!(categories_chart(&[]).is_none());
        assert!(
            categories_chart(&[Count {
                key: "x".into(),
                count: 0
            }])
            .is_none()
        );
    }

    #[test]
    fn bars_are_drawn_in_their_colours() {
        let b = TimelineBars {
            start_ms: 0,
            end_ms: 2,
            bucket_ms: 1,
            columns: vec![(10, 5), (0, 0)],
            max: 10,
        };
        let chart = timeline_chart(&b);
        let flagged: Vec<_> = chart.shapes.iter().filter(|s| s.color == FLAGGED).collect();
        assert_eq!(flagged.len(), 1);
        assert!((flagged[0].h - (TIMELINE_HEIGHT - 2.0) / 2.0).abs() < 0.01);
        assert!(flagged[0].x < WIDTH / 2.0);
    }
}
