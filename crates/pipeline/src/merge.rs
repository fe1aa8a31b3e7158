//! Alerts from separate streams about the same rule and attacker become one.

use secmo_detect::Alert;
use secmo_detect::alerts::keep_first_and_last_evidence;
use secmo_event::parse_rfc3339;

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
                keep_first_and_last_evidence(&mut m.evidence);
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

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_detect::Evidence;
    use secmo_event::{Category, Severity};

    fn alert(
        rule: &str,
        sev: Severity,
        ip: Option<&str>,
        user: Option<&str>,
        count: u64,
        first: &str,
        line: u64,
    ) -> Alert {
        Alert {
            rule_id: rule.into(),
            title: rule.into(),
            category: Category::BruteForce,
            severity: sev,
            source_ip: ip.map(Into::into),
            user: user.map(Into::into),
            first_seen: Some(first.into()),
            last_seen: Some(first.into()),
            count,
            evidence: vec![Evidence {
                input: 0,
                file: String::new(),
                line,
                raw: format!("line {line}"),
            }],
            description: String::new(),
            recommendation: String::new(),
            response: Vec::new(),
        }
    }

    #[test]
    fn same_rule_and_ip_merge_across_streams() {
        let merged = merge_alerts(vec![
            alert(
                "r",
                Severity::High,
                Some("192.0.2.1"),
                Some("alice"),
                3,
                "2024-01-01T00:00:05Z",
                9,
            ),
            alert(
                "r",
                Severity::High,
                Some("192.0.2.1"),
                Some("bob"),
                4,
                "2024-01-01T00:00:01.500Z",
                2,
            ),
            alert(
                "r",
                Severity::High,
                None,
                Some("bob"),
                1,
                "2024-01-01T00:00:00Z",
                1,
            ),
            alert(
                "q",
                Severity::Critical,
                Some("192.0.2.1"),
                None,
                1,
                "2024-01-01T00:00:00Z",
                1,
            ),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].rule_id, "q", "critical first");
        let m = &merged[1];
        assert_eq!((m.count, m.source_ip.as_deref()), (7, Some("192.0.2.1")));
        assert_eq!(
            m.first_seen.as_deref(),
            Some("2024-01-01T00:00:01.500Z"),
            "earliest by time, not by text"
        );
        assert_eq!(m.last_seen.as_deref(), Some("2024-01-01T00:00:05Z"));
        assert_eq!(
            m.evidence.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 9]
        );
        assert_eq!(merged[2].user.as_deref(), Some("bob"));
    }

    #[test]
    fn merged_evidence_keeps_the_first_three_and_last_two_lines() {
        let parts: Vec<Alert> = (1..=7)
            .map(|line| {
                alert(
                    "r",
                    Severity::High,
                    Some("192.0.2.9"),
                    None,
                    1,
                    "2024-01-01T00:00:00Z",
                    line,
                )
            })
            .collect();
        let merged = merge_alerts(parts);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].count, 7);
        let lines: Vec<u64> = merged[0].evidence.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 6, 7]);
    }
}
