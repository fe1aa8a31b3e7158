//! The report document of a period, from the store: stats from the rollups,
//! the incidents active in the period (with their evidence and response steps),
//! the period before for comparison, and who is blocked.

use secmo_event::Severity;
use secmo_report::{
    Attacker, Count, EvidenceLine, PeriodSummary, REPORT_VERSION, ReportAnalytics, ReportDoc,
    ReportIncident, Timeline, TimelinePoint,
};
use secmo_store::{
    Block, Counted, Incident, IncidentDetail, IncidentQuery, PageRequest, Stats, StatsQuery, Store,
    StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

/// Incidents listed in a report; the rest are counted in `incidents_omitted`.
const MAX_LISTED: usize = 200;
/// Incidents listed with their full detail (evidence, response steps).
const MAX_DETAILED: usize = 50;
/// Incidents looked at per period (a storm beyond this is summarised by the stats).
const MAX_SCANNED: usize = 5_000;
const TOP: u32 = 10;

/// Build the report of `[since_ms, until_ms)`.
pub fn build(
    store: &dyn Store,
    since_ms: i64,
    until_ms: i64,
    scope: &str,
    now_ms: i64,
) -> Result<ReportDoc, StoreError> {
    let len = (until_ms - since_ms).max(60_000);
    let stats = store.stats(&StatsQuery {
        since_ms,
        until_ms,
        bucket_ms: 0,
        top: 100,
    })?;
    let prev_stats = store.stats(&StatsQuery {
        since_ms: since_ms - len,
        until_ms: since_ms,
        bucket_ms: 0,
        top: TOP,
    })?;
    let (incidents, total) = active_incidents(store, since_ms, until_ms)?;
    let (prev_incidents, _) = active_incidents(store, since_ms - len, since_ms)?;
    let blocks = store.active_blocks(now_ms)?;
    let blocked = |ip: &str| -> bool {
        ip.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| blocks.iter().any(|b| b.net.contains(&ip)))
    };
    let blocked_at_start = blocks_in_force(store, since_ms)?;

    let threat_level = incidents
        .iter()
        .map(|i| i.severity)
        .max()
        .map_or("none", |s| s.as_str());

    let mut listed = Vec::with_capacity(incidents.len().min(MAX_LISTED));
    for (n, inc) in incidents.iter().take(MAX_LISTED).enumerate() {
        let mut r = ReportIncident {
            id: Some(inc.id),
            rule_id: inc.rule_id.clone(),
            title: inc.title.clone(),
            category: inc.category.as_str().to_owned(),
            severity: inc.severity.as_str().to_owned(),
            source_ip: inc.source_ip.map(|ip| ip.to_string()),
            user: inc.user.clone(),
            status: Some(inc.status.as_str().to_owned()),
            count: inc.count,
            first_seen_ms: inc.first_seen_ms,
            last_seen_ms: inc.last_seen_ms,
            ..Default::default()
        };
        if n < MAX_DETAILED
            && let Some(d) = store.incident(inc.id)?
        {
            add_detail(&mut r, d, 5);
        }
        listed.push(r);
    }

    // Attackers: the IPs behind the period's incidents, most flagged first.
    let mut categories_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for inc in &incidents {
        if let Some(ip) = inc.source_ip {
            categories_of
                .entry(ip.to_string())
                .or_default()
                .insert(inc.category.as_str().to_owned());
        }
    }
    let count_of =
        |list: &[Counted], key: &str| list.iter().find(|c| c.key == key).map_or(0, |c| c.count);
    let mut attackers: Vec<Attacker> = categories_of
        .iter()
        .map(|(ip, cats)| Attacker {
            ip: ip.clone(),
            requests: count_of(&stats.top_ips, ip),
            flagged: count_of(&stats.top_attackers, ip),
            categories: cats.iter().cloned().collect(),
            blocked: blocked(ip),
        })
        .collect();
    // Flagged IPs of the rollups that no incident names (below every threshold).
    for c in &stats.top_attackers {
        if !categories_of.contains_key(&c.key) {
            attackers.push(Attacker {
                ip: c.key.clone(),
                requests: count_of(&stats.top_ips, &c.key),
                flagged: c.count,
                categories: Vec::new(),
                blocked: blocked(&c.key),
            });
        }
    }
    for a in &mut attackers {
        a.requests = a.requests.max(a.flagged);
    }
    attackers.sort_by(|a, b| {
        (b.flagged, b.requests, b.categories.len()).cmp(&(
            a.flagged,
            a.requests,
            a.categories.len(),
        ))
    });
    attackers.truncate(TOP as usize);

    Ok(ReportDoc {
        version: REPORT_VERSION,
        id: None,
        generated_ms: now_ms,
        period_start_ms: since_ms,
        period_end_ms: until_ms,
        scope: scope.to_owned(),
        threat_level: threat_level.to_owned(),
        summary: summary(&stats, &incidents, total, blocks.len() as u64),
        previous: Some(summary(
            &prev_stats,
            &prev_incidents,
            prev_incidents.len() as u64,
            blocked_at_start,
        )),
        incidents_omitted: total.saturating_sub(listed.len() as u64),
        incidents: listed,
        top_attackers: attackers,
        categories: counts(&stats.by_category),
        timeline: Timeline {
            bucket_ms: stats.bucket_ms,
            points: stats
                .timeline
                .iter()
                .map(|p| TimelinePoint {
                    t_ms: p.t_ms,
                    events: p.events,
                    flagged: p.flagged,
                })
                .collect(),
        },
        analytics: ReportAnalytics {
            top_pages: counts(&stats.top_paths[..stats.top_paths.len().min(TOP as usize)]),
            top_referrers: counts(
                &stats.top_referrers[..stats.top_referrers.len().min(TOP as usize)],
            ),
            status_classes: counts(&stats.by_status_class),
            by_kind: counts(&stats.by_kind),
        },
    })
}

/// Fill in what only the incident's detail holds: description,
/// recommendation, the response steps in order, the first `evidence` lines,
/// and its current count and times.
pub fn add_detail(r: &mut ReportIncident, d: IncidentDetail, evidence: usize) {
    r.description = d.description;
    r.recommendation = d.recommendation;
    r.response = d.checklist.into_iter().map(|c| c.step).collect();
    r.first_seen_ms = d.incident.first_seen_ms;
    r.last_seen_ms = d.incident.last_seen_ms;
    r.count = d.incident.count;
    r.evidence = d
        .alerts
        .iter()
        .flat_map(|a| a.evidence.iter())
        .take(evidence)
        .map(|e| EvidenceLine {
            file: e.file.clone(),
            line: e.line,
            raw: e.raw.clone(),
        })
        .collect();
}

fn counts(list: &[Counted]) -> Vec<Count> {
    list.iter()
        .map(|c| Count {
            key: c.key.clone(),
            count: c.count,
        })
        .collect()
}

/// Incidents active in the range, most severe first, then most recent; and how many there are.
fn active_incidents(
    store: &dyn Store,
    since_ms: i64,
    until_ms: i64,
) -> Result<(Vec<Incident>, u64), StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.incidents(&IncidentQuery {
            active_since_ms: Some(since_ms),
            active_until_ms: Some(until_ms),
            sort: Some("last_seen".into()),
            page: PageRequest {
                cursor,
                limit: 1000,
            },
            ..Default::default()
        })?;
        out.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() || out.len() >= MAX_SCANNED {
            break;
        }
    }
    let total = out.len() as u64;
    out.sort_by(|a, b| {
        (b.severity, b.last_seen_ms, b.count).cmp(&(a.severity, a.last_seen_ms, a.count))
    });
    Ok((out, total))
}

/// How many blocks were in force at `t_ms` (for the previous period's summary).
fn blocks_in_force(store: &dyn Store, t_ms: i64) -> Result<u64, StoreError> {
    let in_force = |b: &Block| {
        b.created_ms <= t_ms
            && b.lifted_ms.is_none_or(|l| l > t_ms)
            && b.expires_ms.is_none_or(|e| e > t_ms)
    };
    let mut n = 0;
    let mut cursor = None;
    for _ in 0..10 {
        let page = store.block_history(&PageRequest {
            cursor,
            limit: 1000,
        })?;
        n += page.items.iter().filter(|b| in_force(b)).count() as u64;
        // Newest first: once a page starts before t, older pages can still
        // hold blocks in force (long ones), so keep going to a bound.
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(n)
}

fn summary(stats: &Stats, incidents: &[Incident], total: u64, blocked: u64) -> PeriodSummary {
    let mut by_severity: Vec<Count> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .iter()
    .map(|s| Count {
        key: s.as_str().to_owned(),
        count: incidents.iter().filter(|i| i.severity == *s).count() as u64,
    })
    .collect();
    by_severity.retain(|c| c.count > 0);
    let attackers: BTreeSet<_> = incidents.iter().filter_map(|i| i.source_ip).collect();
    PeriodSummary {
        events: stats.events,
        flagged_events: stats.flagged_events,
        incidents: total,
        high_or_worse: incidents
            .iter()
            .filter(|i| i.severity >= Severity::High)
            .count() as u64,
        attackers: attackers.len().max(stats.top_attackers.len()) as u64,
        blocked_ips: blocked,
        by_severity,
    }
}
