//! Reports: a [`ReportDoc`] built from the store or from an analysis, and its
//! renderers (HTML for browsers and e-mail, plain text, JSON, CSV, PDF) in
//! English, Spanish and German, plus the texts of instant notifications.
//!
//! Every renderer is a pure function of the document and a language: the same
//! stored document renders the same way later, in any format.

pub mod charts;
mod csv;
pub mod escape;
mod format;
mod from_analysis;
pub mod html;
pub mod i18n;
mod json;
pub mod model;
pub mod notification;
mod pdf;
pub mod sample;
pub mod text;
mod view;

pub use csv::{COLUMNS as CSV_COLUMNS, render_csv};
pub use format::{ReportFormat, render};
pub use from_analysis::{MAX_INCIDENTS, from_analysis};
pub use html::{ImageMode, RenderedHtml, ReportImage, render_html};
pub use i18n::Lang;
pub use json::render_json;
pub use model::*;
pub use notification::{NotificationText, digest_notification, incident_notification, subject};
pub use pdf::render_pdf;
pub use text::render_text;
