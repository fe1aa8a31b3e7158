//! Delivery of notifications and reports.

pub mod message;

pub use message::*;
