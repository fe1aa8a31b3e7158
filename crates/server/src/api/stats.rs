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

/// Computed stats and the stored-event count, shared by every client asking
/// for the same range within a second.
#[derive(Clone)]
pub struct Cached {
    pub stats: Arc<Stats>,
    pub stored: u64,
}

struct Entry {
    at: Instant,
    value: Cached,
    refreshing: bool,
}

/// Stale-while-revalidate: a fresh entry is served as is; a stale one is
/// served at once while one request refreshes it in the background; a
/// missing one is computed once (single flight) while the others wait.
#[derive(Default)]
pub struct StatsCache {
    entries: Mutex<HashMap<Key, Entry>>,
    computing: tokio::sync::Mutex<()>,
}

const FRESH: Duration = Duration::from_secs(1);
/// Entries older than this are not served even as stale.
const USABLE: Duration = Duration::from_secs(30);

enum Lookup {
    Fresh(Cached),
    Stale(Cached, bool),
    Missing,
}

impl StatsCache {
    fn lookup(&self, key: &Key) -> Lookup {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(e) if e.at.elapsed() < FRESH => Lookup::Fresh(e.value.clone()),
            Some(e) if e.at.elapsed() < USABLE => {
                let start_refresh = !e.refreshing;
                e.refreshing = true;
                Lookup::Stale(e.value.clone(), start_refresh)
            }
            _ => Lookup::Missing,
        }
    }

    fn put(&self, key: Key, value: Cached) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 256 {
            map.retain(|_, e| e.at.elapsed() < USABLE);
        }
        map.insert(
            key,
            Entry {
                at: Instant::now(),
                value,
                refreshing: false,
            },
        );
    }

    fn refresh_failed(&self, key: &Key) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(key) {
            e.refreshing = false;
        }
    }
}

async fn compute(st: &Arc<AppState>, query: StatsQuery) -> ApiResult<Cached> {
    let s2 = Arc::clone(st);
    blocking(move || {
        let stats = s2.store.stats(&query)?;
        let stored = s2.store.event_count()?;
        Ok::<_, secmo_store::StoreError>(Cached {
            stats: Arc::new(stats),
            stored,
        })
    })
    .await
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
    let query = StatsQuery {
        since_ms: since,
        until_ms: until,
        bucket_ms: bucket,
        top,
    };
    let cached = match st.stats_cache.lookup(&key) {
        Lookup::Fresh(c) => c,
        Lookup::Stale(c, start_refresh) => {
            if start_refresh {
                let st2 = Arc::clone(&st);
                tokio::spawn(async move {
                    match compute(&st2, query).await {
                        Ok(v) => st2.stats_cache.put(key, v),
                        Err(_) => st2.stats_cache.refresh_failed(&key),
                    }
                });
            }
            c
        }
        Lookup::Missing => {
            let _one = st.stats_cache.computing.lock().await;
            // Another request may have filled it while this one waited.
            match st.stats_cache.lookup(&key) {
                Lookup::Fresh(c) => c,
                Lookup::Stale(..) | Lookup::Missing => {
                    let c = compute(&st, query).await?;
                    st.stats_cache.put(key, c.clone());
                    c
                }
            }
        }
    };
    let stats = cached.stats;
    let stored = cached.stored;
    Ok(axum::Json(StatsResponse {
        total_events: stats.events,
        blocked_ips: stats.active_blocks,
        stored_events: stored,
        stats: Stats::clone(&stats),
        generated_ms: now,
    }))
}
