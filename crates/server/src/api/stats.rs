//! Dashboard numbers. Served from the store's rollups and cached for a
//! second per range, so a wall of dashboards costs one query per second.

use super::events::parse_time;
use super::{ApiError, ApiResult, Query};
use crate::auth::Principal;
use crate::state::AppState;
use crate::{blocking, now_ms};
use axum::extract::State;
use secmo_store::{Stats, StatsQuery};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Key = (i64, i64, i64, u32);

#[derive(Default)]
pub struct StatsCache {
    entries: Mutex<HashMap<Key, (Instant, Arc<Stats>)>>,
}

const FRESH: Duration = Duration::from_secs(1);

impl StatsCache {
    fn get(&self, key: &Key) -> Option<Arc<Stats>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < FRESH)
            .map(|(_, s)| Arc::clone(s))
    }

    fn put(&self, key: Key, stats: Arc<Stats>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 256 {
            map.retain(|_, (at, _)| at.elapsed() < FRESH);
        }
        map.insert(key, (Instant::now(), stats));
    }
}

#[derive(Deserialize, Default)]
pub struct StatsParams {
    /// Start of the range (ms, RFC 3339, or a duration back from now); default 24h.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Timeline bucket (`1m`, `1h`); default: at most ~120 buckets.
    pub bucket: Option<String>,
    pub top: Option<u32>,
}

#[derive(Serialize)]
pub struct StatsResponse {
    #[serde(flatten)]
    pub stats: Stats,
    /// Convenience totals in the shape small monitors use.
    pub total_events: u64,
    pub stored_events: u64,
    pub blocked_ips: u64,
    pub generated_ms: i64,
}

pub async fn stats(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<StatsParams>,
) -> ApiResult<axum::Json<StatsResponse>> {
    let now = now_ms();
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => parse_time(s)?,
        None => now - 86_400_000,
    };
    let until = match q.until.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => parse_time(s)?,
        None => now + 60_000,
    };
    if until <= since {
        return Err(ApiError::BadRequest("until must be after since".into()));
    }
    let bucket = match q.bucket.as_deref().filter(|s| !s.is_empty()) {
        Some(b) => crate::config::parse_duration_ms(b).map_err(ApiError::BadRequest)?,
        None => 0,
    };
    let top = q.top.unwrap_or(10).clamp(1, 100);
    // Relative ranges move every millisecond: key on whole seconds.
    let key = (since / 1000, until / 1000, bucket, top);
    let s2 = Arc::clone(&st);
    let stats = match st.stats_cache.get(&key) {
        Some(s) => s,
        None => {
            let query = StatsQuery {
                since_ms: since,
                until_ms: until,
                bucket_ms: bucket,
                top,
            };
            let s = Arc::new(blocking(move || s2.store.stats(&query)).await?);
            st.stats_cache.put(key, Arc::clone(&s));
            s
        }
    };
    let s3 = Arc::clone(&st);
    let stored = blocking(move || s3.store.event_count()).await?;
    Ok(axum::Json(StatsResponse {
        total_events: stats.events,
        blocked_ips: stats.active_blocks,
        stored_events: stored,
        stats: Stats::clone(&stats),
        generated_ms: now,
    }))
}
