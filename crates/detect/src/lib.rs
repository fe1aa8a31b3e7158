//! secmo's detection engine. Give it [`Event`]s (in timestamp order per source),
//! get alerts and analytics back. It does no I/O: the CLI, the server and the
//! report builder all drive the same [`Engine`], so the same input gives the
//! same alerts everywhere.
//!
//! Layout follows the data: `rules/` (schema, loading, compiling conditions),
//! `signatures/` (normalisation and the shared multi-pattern matchers),
//! `windows/` (correlations: counts, distinct counts, sequences, spikes),
//! `alerts` (grouping into one alert per rule and attacker), `analytics`
//! (traffic statistics), `report` (the result), `engine` (the glue).

pub mod alerts;
pub mod analytics;
pub mod engine;
pub mod report;
pub mod rules;
pub mod signatures;
pub mod windows;

pub use engine::{Engine, EventVerdict};
pub use report::{Alert, Evidence, InputSummary, MatchRecord, Report, ThreatLevel};
pub use rules::{RuleError, RuleMeta, RuleSet};
pub use secmo_event::{Category, Event, EventKind, Field, Origin, Severity};
