//! Reports: a [`ReportDoc`] built from the store or from an analysis, and its
//! renderers (HTML for browsers and e-mail, plain text, JSON, CSV, PDF) in
//! English, Spanish and German, plus the texts of instant notifications.
//!
//! Every renderer is a pure function of the document and a language: the same
//! stored document renders the same way later, in any format.

pub mod charts;
pub mod escape;
pub mod html;
pub mod i18n;
pub mod model;
pub mod notification;
pub mod text;
mod view;

pub use html::{ImageMode, RenderedHtml, ReportImage, render_html};
pub use i18n::Lang;
pub use model::*;
pub use notification::{NotificationText, digest_notification, incident_notification, subject};
pub use text::render_text;
