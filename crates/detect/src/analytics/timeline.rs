//! Events and HTTP errors per time bucket. The bucket width that suits the
//! output depends on the whole period, which is known only at the end, so
//! counts are kept at the finest width whose number of non-empty buckets stays
//! within [`STORED_BUCKETS`], coarsened as the data grows; `finish` then picks
//! the display width.
//!
//! Widths nest (each divides the next), so the stored width is a function of
//! the set of timestamps alone: the smallest width with at most
//! `STORED_BUCKETS` non-empty buckets. That is what makes `merge` give exactly
//! the result of observing the whole stream.

use hashbrown::HashMap;
use secmo_event::format_rfc3339;
use serde::Serialize;

/// Bucket widths: (label, milliseconds). The ones past `1d` exist only so that
/// memory stays bounded whatever the timestamps (bogus input spanning
/// millennia); the last one covers the whole `i64` range in a few buckets.
const WIDTHS: &[(&str, i64)] = &[
    ("1m", 60_000),
    ("5m", 300_000),
    ("15m", 900_000),
    ("1h", 3_600_000),
    ("2h", 7_200_000),
    ("1d", 86_400_000),
    ("10d", 864_000_000),
    ("100d", 8_640_000_000),
    ("1000d", 86_400_000_000),
    ("10000d", 864_000_000_000),
    ("100000d", 8_640_000_000_000),
    ("1000000d", 86_400_000_000_000),
    ("10000000d", 864_000_000_000_000),
    ("100000000d", 8_640_000_000_000_000),
];
const TWO_HOURS: usize = 4;
const DAY_MS: i64 = 86_400_000;
/// Non-empty buckets kept before coarsening.
pub(crate) const STORED_BUCKETS: usize = 1024;
/// Most buckets shown; past it only non-empty buckets are listed.
pub(crate) const SHOWN_BUCKETS: i64 = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    events: u64,
    http_errors: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.events = self.events.saturating_add(o.events);
        self.http_errors = self.http_errors.saturating_add(o.http_errors);
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineCounter {
    width: usize,
    buckets: HashMap<i64, Counts>,
    /// The bucket being filled: logs are mostly in time order, so most events
    /// land here without a hash lookup.
    current: Option<(i64, Counts)>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    without_time: u64,
}

/// The timeline of the analysis.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Timeline {
    /// Bucket width: `1m`, `5m`, `15m`, `1h`, `2h` or `1d` (`10d`, `100d`, ...
    /// only for timestamps spread over centuries). Empty when no event had a time.
    pub bucket: String,
    /// Bucket width in seconds (0 when there are no buckets).
    pub bucket_seconds: u64,
    /// Events that carried no usable timestamp (not in any bucket).
    pub events_without_time: u64,
    /// Buckets in time order. Every bucket from the first to the last is
    /// listed, empty ones included, unless there would be more than 100; then
    /// only non-empty buckets are listed.
    pub buckets: Vec<TimelineBucket>,
}

/// One time bucket.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TimelineBucket {
    /// Start of the bucket, RFC 3339 UTC.
    pub start: String,
    /// Events with a timestamp in `[start, start + bucket)`.
    pub events: u64,
    /// Of those, events with an HTTP status of 400 or more.
    pub http_errors: u64,
}

fn width_ms(w: usize) -> i64 {
    WIDTHS.get(w).map_or(DAY_MS, |(_, ms)| *ms)
}

impl TimelineCounter {
    #[inline]
    pub(crate) fn observe(&mut self, ts_ms: Option<i64>, http_error: bool) {
        let Some(ts) = ts_ms else {
            self.without_time += 1;
            return;
        };
        self.first_ms = Some(self.first_ms.map_or(ts, |f| f.min(ts)));
        self.last_ms = Some(self.last_ms.map_or(ts, |l| l.max(ts)));
        let add = Counts {
            events: 1,
            http_errors: u64::from(http_error),
        };
        let key = ts.div_euclid(width_ms(self.width));
        if let Some((k, c)) = &mut self.current
            && *k == key
        {
            c.add(add);
            return;
        }
        self.flush();
        // The flush may have coarsened the width.
        let key = ts.div_euclid(width_ms(self.width));
        self.current = Some((key, add));
    }

    fn flush(&mut self) {
        if let Some((k, c)) = self.current.take() {
            self.buckets.entry(k).or_default().add(c);
            self.coarsen_to(self.width);
        }
    }

    /// Re-key to width `w` (at least the current one), then coarsen while too many buckets.
    fn coarsen_to(&mut self, w: usize) {
        let mut target = w.max(self.width);
        loop {
            if target != self.width {
                let old = width_ms(self.width);
                let new = width_ms(target);
                let mut rekeyed: HashMap<i64, Counts> = HashMap::with_capacity(self.buckets.len());
                for (k, c) in self.buckets.drain() {
                    let start = i128::from(k) * i128::from(old);
                    let key = start.div_euclid(i128::from(new)) as i64;
                    rekeyed.entry(key).or_default().add(c);
                }
                self.buckets = rekeyed;
                self.width = target;
            }
            if self.buckets.len() <= STORED_BUCKETS || self.width + 1 >= WIDTHS.len() {
                return;
            }
            target = self.width + 1;
        }
    }

    pub(crate) fn merge(&mut self, mut other: TimelineCounter) {
        self.flush();
        other.flush();
        let w = self.width.max(other.width);
        self.coarsen_to(w);
        other.coarsen_to(w);
        for (k, c) in other.buckets {
            self.buckets.entry(k).or_default().add(c);
        }
        self.coarsen_to(w);
        self.first_ms = self.first_ms.into_iter().chain(other.first_ms).min();
        self.last_ms = self.last_ms.into_iter().chain(other.last_ms).max();
        self.without_time = self.without_time.saturating_add(other.without_time);
    }

    pub(crate) fn finish(mut self) -> Timeline {
        self.flush();
        let (Some(first), Some(last)) = (self.first_ms, self.last_ms) else {
            return Timeline {
                events_without_time: self.without_time,
                ..Timeline::default()
            };
        };
        let span = i128::from(last) - i128::from(first);
        let min_width = if span > i128::from(DAY_MS) {
            TWO_HOURS.max(self.width)
        } else {
            self.width
        };
        let shown = |w: usize| {
            let ms = width_ms(w);
            last.div_euclid(ms) - first.div_euclid(ms) + 1
        };
        // Widths up to 1d are the ones meant for display; the coarser ones only
        // when the stored width already is one.
        let day = TWO_HOURS + 1;
        let w = (min_width..WIDTHS.len())
            .find(|&w| shown(w) <= SHOWN_BUCKETS && (w <= day || w <= self.width))
            .unwrap_or(day.max(self.width));
        self.coarsen_to(w);
        let ms = width_ms(self.width);
        let mut keys: Vec<i64> = self.buckets.keys().copied().collect();
        keys.sort_unstable();
        let first_key = first.div_euclid(ms);
        let last_key = last.div_euclid(ms);
        let all_keys: Vec<i64> = if last_key - first_key < SHOWN_BUCKETS {
            (first_key..=last_key).collect()
        } else {
            keys
        };
        let buckets = all_keys
            .into_iter()
            .map(|k| {
                let c = self.buckets.get(&k).copied().unwrap_or_default();
                TimelineBucket {
                    start: format_rfc3339(k.saturating_mul(ms)),
                    events: c.events,
                    http_errors: c.http_errors,
                }
            })
            .collect();
        Timeline {
            bucket: WIDTHS.get(self.width).map_or("1d", |(l, _)| l).to_string(),
            bucket_seconds: (ms / 1000) as u64,
            events_without_time: self.without_time,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS; // a midnight UTC

    fn timeline(ts: impl IntoIterator<Item = i64>) -> Timeline {
        let mut t = TimelineCounter::default();
        for (i, ms) in ts.into_iter().enumerate() {
            t.observe(Some(ms), i % 2 == 0);
        }
        t.finish()
    }

    #[test]
    fn width_fits_the_period() {
        // 90 minutes: 1m buckets.
        let t = timeline((0..90).map(|m| T0 + m * 60_000));
        assert_eq!((t.bucket.as_str(), t.buckets.len()), ("1m", 90));
        // One day: 15m buckets, 96 of them.
        let t = timeline((0..1440).map(|m| T0 + m * 60_000));
        assert_eq!((t.bucket.as_str(), t.buckets.len()), ("15m", 96));
        // Three days: 2h.
        let t = timeline((0..72).map(|h| T0 + h * 3_600_000));
        assert_eq!((t.bucket.as_str(), t.buckets.len()), ("2h", 36));
        // Thirty days: 1d.
        let t = timeline((0..30).map(|d| T0 + d * DAY_MS));
        assert_eq!((t.bucket.as_str(), t.buckets.len()), ("1d", 30));
        assert_eq!(t.buckets[0].start, format_rfc3339(T0));
        assert_eq!(t.bucket_seconds, 86_400);
    }

    #[test]
    fn empty_buckets_are_listed_and_counts_add_up() {
        let t = timeline([T0, T0 + 1000, T0 + 5 * 60_000]);
        assert_eq!(t.bucket, "1m");
        let events: Vec<u64> = t.buckets.iter().map(|b| b.events).collect();
        assert_eq!(events, vec![2, 0, 0, 0, 0, 1]);
        assert_eq!(t.buckets[0].http_errors, 1);
        assert_eq!(t.buckets[5].http_errors, 1);
    }

    #[test]
    fn bogus_timestamps_stay_bounded() {
        let mut t = TimelineCounter::default();
        for i in 0..100_000i64 {
            t.observe(
                Some(i.wrapping_mul(7_919_000_000_007) % (250_000 * 365 * DAY_MS)),
                false,
            );
            assert!(t.buckets.len() <= STORED_BUCKETS);
        }
        t.observe(Some(i64::MIN), false);
        t.observe(Some(i64::MAX), false);
        t.observe(None, false);
        let r = t.finish();
        assert_eq!(r.events_without_time, 1);
        assert_eq!(r.buckets.iter().map(|b| b.events).sum::<u64>(), 100_002);
    }

    #[test]
    fn merge_equals_whole_stream() {
        let ts: Vec<i64> = (0..5000)
            .map(|i| T0 + (i * 7_777_777) % (5 * DAY_MS))
            .collect();
        let mut whole = TimelineCounter::default();
        let mut a = TimelineCounter::default();
        let mut b = TimelineCounter::default();
        for (i, &ms) in ts.iter().enumerate() {
            whole.observe(Some(ms), i % 3 == 0);
            if i < 1234 {
                a.observe(Some(ms), i % 3 == 0)
            } else {
                b.observe(Some(ms), i % 3 == 0)
            }
        }
        a.merge(b);
        assert_eq!(a.finish(), whole.finish());
    }
}
