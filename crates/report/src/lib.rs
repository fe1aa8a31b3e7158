//! Reports: a [`ReportDoc`] built from the store or from an analysis, and its renderers.

pub mod model;

pub use model::*;
