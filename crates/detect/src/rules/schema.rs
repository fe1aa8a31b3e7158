//! The rule file format, as written in YAML. Close to Sigma's vocabulary:
//! `detection` holds named selections of `field|modifier: value` items and a
//! `condition` expression over them; `correlation` (optional) turns matching
//! events into a windowed threshold, a distinct count, an ordered sequence, or a
//! spike against a trailing baseline.
//!
//! ```yaml
//! id: D-01
//! title: Repeated login failures from one IP
//! category: brute_force
//! severity: high
//! description: More than 3 failed logins from one IP within 5 minutes.
//! recommendation: Block the IP and check whether any login from it succeeded.
//! response:
//!   - Block the source IP.
//!   - Review successful logins from the same IP.
//! kinds: [app]
//! detection:
//!   failure:
//!     event.action: login_failure
//!   condition: failure
//! correlation:
//!   type: event_count
//!   group-by: [source.ip]
//!   timespan: 5m
//!   condition: { gt: 3 }
//! ```

use secmo_event::{Category, EventKind, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One rule file's document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub recommendation: String,
    /// Ordered response steps (the incident checklist).
    #[serde(default)]
    pub response: Vec<String>,
    /// Event kinds the rule applies to; empty means all.
    #[serde(default)]
    pub kinds: Vec<EventKind>,
    /// Set `false` to switch a built-in rule off from a user rule file with the same id.
    #[serde(default = "yes")]
    pub enabled: bool,
    pub detection: Detection,
    #[serde(default)]
    pub correlation: Option<Correlation>,
    /// Free-form tags (e.g. ATT&CK technique ids); carried to output.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Named selections plus a `condition` expression over their names
/// (`and`, `or`, `not`, parentheses, `1 of sel*`, `all of them`).
#[derive(Debug, Clone, Deserialize)]
pub struct Detection {
    pub condition: String,
    #[serde(flatten)]
    pub selections: BTreeMap<String, Selection>,
}

/// A selection is a map of `field|mod|mod: value(s)` items that must all hold
/// (AND), or a list of such maps of which one must hold (OR), as in Sigma.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Selection {
    All(BTreeMap<String, Value>),
    AnyOf(Vec<BTreeMap<String, Value>>),
}

/// A value in a selection item: a scalar or a list (any of, unless `|all`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    List(Vec<Scalar>),
    One(Scalar),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    /// The value as text, whatever YAML typed it as.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

impl Value {
    pub fn scalars(&self) -> &[Scalar] {
        match self {
            Value::List(v) => v,
            Value::One(s) => std::slice::from_ref(s),
        }
    }
}

/// Sigma-style correlation over the events that satisfy `detection`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    #[serde(rename = "type")]
    pub kind: CorrelationKind,
    /// Fields whose values key the window state (`source.ip`, `user.name`, ...).
    /// An entry `a|b` takes the first of the fields that is present (`source.ip|user.name`:
    /// the IP, else the user). Events missing a group-by value are not counted.
    #[serde(rename = "group-by", default)]
    pub group_by: Vec<String>,
    /// Window length: `30s`, `5m`, `1h`, `1d`.
    pub timespan: String,
    /// Threshold on the count (event_count, temporal_ordered) or distinct values (value_count).
    #[serde(default)]
    pub condition: Threshold,
    /// value_count: the field whose distinct values are counted; value_sum: the numeric field summed.
    #[serde(default)]
    pub field: Option<String>,
    /// temporal_ordered: names of detection selections that must occur in this order
    /// within `timespan`, for the same group.
    #[serde(default)]
    pub order: Vec<String>,
    /// spike: how many past `timespan` buckets form the baseline.
    #[serde(default)]
    pub baseline: Option<u32>,
    /// spike: the current bucket must exceed the baseline mean by this factor.
    #[serde(default)]
    pub factor: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationKind {
    /// More than N matching events per group within the timespan.
    EventCount,
    /// More than N distinct values of `field` per group within the timespan.
    ValueCount,
    /// The selections in `order` occur in that order within the timespan.
    TemporalOrdered,
    /// The sum of numeric `field` per group within the timespan exceeds the threshold
    /// (e.g. bytes sent to one IP: exfiltration).
    ValueSum,
    /// Matching events in the current bucket exceed `factor` × the trailing baseline.
    Spike,
}

/// `{ gt: 3 }`, `{ gte: 10 }`. Exactly one should be given; `gt` wins if both are.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default)]
    pub gt: Option<u64>,
    #[serde(default)]
    pub gte: Option<u64>,
}

impl Threshold {
    /// The smallest count that satisfies the threshold (1 when none was given).
    pub fn min_count(&self) -> u64 {
        match (self.gt, self.gte) {
            (Some(gt), _) => gt + 1,
            (None, Some(gte)) => gte.max(1),
            (None, None) => 1,
        }
    }
}

/// Parse `30s`, `5m`, `2h`, `1d`, `500ms` into milliseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5m"), Some(300_000));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        assert_eq!(parse_timespan("250ms"), Some(250));
        assert_eq!(parse_timespan("10"), Some(10_000));
        assert_eq!(parse_timespan("0s"), None);
        assert_eq!(parse_timespan("5 parsecs"), None);
    }

    #[test]
    fn parses_a_correlation_rule() {
        let doc: RuleDoc = serde_yaml_ng::from_str(
            r#"
id: D-03
title: Login then immediate logout
category: session_abuse
severity: medium
kinds: [app]
detection:
  login: { event.action: login_success }
  logout: { event.action: logout }
  condition: login or logout
correlation:
  type: temporal_ordered
  group-by: [user.name]
  timespan: 1m
  order: [login, logout]
"#,
        )
        .expect("valid rule");
        assert_eq!(doc.category, Category::SessionAbuse);
        assert_eq!(doc.detection.selections.len(), 2);
        let c = doc.correlation.expect("correlation");
        assert_eq!(c.kind, CorrelationKind::TemporalOrdered);
        assert_eq!(c.order, vec!["login", "logout"]);
        assert_eq!(c.condition.min_count(), 1);
    }

    #[test]
    fn selection_list_and_values() {
        let d: Detection = serde_yaml_ng::from_str(
            "sel:\n  - url.path|endswith: [/login, /wp-login.php]\n  - http.response.status_code|gte: 400\ncondition: sel\n",
        )
        .expect("valid detection");
        match &d.selections["sel"] {
            Selection::AnyOf(items) => {
                assert_eq!(items.len(), 2);
                assert_eq!(items[0]["url.path|endswith"].scalars().len(), 2);
            }
            Selection::All(_) => panic!("expected a list of maps"),
        }
    }
}
