//! Messages for the Server-Sent-Events stream.

use secmo_store::{Block, EventRecord, IncidentTouch};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum LiveMessage {
    /// A sample of newly stored events (at most a few hundred per batch;
    /// flagged events first).
    Events(Vec<EventRecord>),
    /// An incident was created or updated by new alerts.
    Incident(IncidentTouch),
    Block(Block),
    Unblock(Block),
}

impl LiveMessage {
    pub fn event_name(&self) -> &'static str {
        match self {
            LiveMessage::Events(_) => "events",
            LiveMessage::Incident(_) => "incident",
            LiveMessage::Block(_) => "block",
            LiveMessage::Unblock(_) => "unblock",
        }
    }
}
