//! Alerts from separate streams about the same rule and attacker become one.

use secmo_detect::Alert;
use secmo_event::parse_rfc3339;

const MAX_EVIDENCE: usize = 5;

fn ms(t: &Option<String>) -> Option<i64> {
    t.as_deref().and_then(parse_rfc3339).map(|(ms, _)| ms)
}

/// Merge alerts with the same rule and attacker (IP, else user); sort by severity, count, rule, attacker.
pub fn merge_alerts(alerts: Vec<Alert>) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::with_capacity(alerts.len());
    let mut index: std::collections::HashMap<(String, Option<String>, Option<String>), usize> =
        std::collections::HashMap::new();
    for a in alerts {
        // The attacker is the IP when there is one (the user seen may differ per stream), else the user.
        let key = match &a.source_ip {
            Some(ip) => (a.rule_id.clone(), Some(ip.clone()), None),
            None => (a.rule_id.clone(), None, a.user.clone()),
        };
        match index.get(&key) {
            Some(&i) => {
                let m = &mut out[i];
                m.count += a.count;
                if a.first_seen.is_some()
                    && (m.first_seen.is_none() || ms(&a.first_seen) < ms(&m.first_seen))
                {
                    m.first_seen = a.first_seen;
                }
                if ms(&a.last_seen) > ms(&m.last_seen) {
                    m.last_seen = a.last_seen;
                }
                m.evidence.extend(a.evidence);
                m.evidence.sort_by_key(|e| (e.input, e.line));
                m.evidence.dedup_by_key(|e| (e.input, e.line));
                if m.evidence.len() > MAX_EVIDENCE {
                    // Keep the first lines and the latest one.
                    let last = m.evidence.pop();
                    m.evidence.truncate(MAX_EVIDENCE - 1);
                    m.evidence.extend(last);
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(a);
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.source_ip.cmp(&b.source_ip))
            .then_with(|| a.user.cmp(&b.user))
    });
    out
}
