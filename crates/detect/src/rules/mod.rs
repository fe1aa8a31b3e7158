//! Rules as data: the YAML schema, the rule set (built-in plus user files), and
//! the per-rule metadata that alerts carry.

pub mod schema;

use schema::RuleDoc;
use secmo_event::{Category, EventKind, Severity};
use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: invalid rule YAML: {message}")]
    Yaml { file: String, message: String },
    #[error("rule {id}: {message}")]
    Invalid { id: String, message: String },
}

impl RuleError {
    pub fn invalid(id: &str, message: impl Into<String>) -> Self {
        RuleError::Invalid {
            id: id.to_string(),
            message: message.into(),
        }
    }
}

/// What an alert needs to know about the rule that raised it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub description: String,
    pub recommendation: String,
    pub response: Vec<String>,
    pub kinds: Vec<EventKind>,
    pub tags: Vec<String>,
}

impl From<&RuleDoc> for RuleMeta {
    fn from(d: &RuleDoc) -> Self {
        RuleMeta {
            id: d.id.clone(),
            title: d.title.clone(),
            category: d.category,
            severity: d.severity,
            description: d.description.clone(),
            recommendation: d.recommendation.clone(),
            response: d.response.clone(),
            kinds: d.kinds.clone(),
            tags: d.tags.clone(),
        }
    }
}

/// An ordered set of rule documents. A later document with the same id
/// replaces an earlier one (so user files override built-ins); `enabled: false`
/// switches a rule off.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    docs: Vec<RuleDoc>,
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_RULES {
            set.add_yaml(name, text)?;
        }
        Ok(set)
    }

    /// Add the rules of one YAML file (one or more `---`-separated documents).
    pub fn add_yaml(&mut self, file: &str, text: &str) -> Result<usize, RuleError> {
        let mut added = 0;
        for de in serde_yaml_ng::Deserializer::from_str(text) {
            let doc =
                <RuleDoc as serde::Deserialize>::deserialize(de).map_err(|e| RuleError::Yaml {
                    file: file.to_string(),
                    message: e.to_string(),
                })?;
            self.add(doc);
            added += 1;
        }
        Ok(added)
    }

    pub fn add(&mut self, doc: RuleDoc) {
        self.docs.retain(|d| d.id != doc.id);
        self.docs.push(doc);
    }

    /// The enabled rules, in load order.
    pub fn enabled(&self) -> impl Iterator<Item = &RuleDoc> {
        self.docs.iter().filter(|d| d.enabled)
    }

    pub fn len(&self) -> usize {
        self.enabled().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "id: T-1\ntitle: t\ncategory: sqli\nseverity: high\ndetection:\n  sel: { url.query|contains: union }\n  condition: sel\n";

    #[test]
    fn later_rules_override_and_disable() {
        let mut set = RuleSet::default();
        assert_eq!(set.add_yaml("a.yml", RULE).ok(), Some(1));
        assert_eq!(set.len(), 1);
        let off = format!("{RULE}enabled: false\n");
        assert_eq!(set.add_yaml("b.yml", &off).ok(), Some(1));
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn bad_yaml_names_the_file() {
        let mut set = RuleSet::default();
        let err = set
            .add_yaml("broken.yml", "id: [")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("broken.yml")));
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().expect("built-in rules are valid");
        let ids: Vec<&str> = set.enabled().map(|d| d.id.as_str()).collect();
        let mut dedup = ids.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(ids.len(), dedup.len(), "rule ids are unique");
    }
}
