//! Choosing a format by file extension or name, and rendering to bytes.

use crate::{Lang, ReportDoc};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    Html,
    Text,
    Json,
    Csv,
    Pdf,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Html,
        ReportFormat::Text,
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::Pdf,
    ];

    /// `.html`/`.htm`, `.txt`, `.json`, `.csv`, `.pdf` (case-insensitive).
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(ReportFormat::Html),
            "txt" | "text" => Some(ReportFormat::Text),
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            "pdf" => Some(ReportFormat::Pdf),
            _ => None,
        }
    }

    /// `html`, `text`/`txt`, `json`, `csv`, `pdf` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(ReportFormat::Html),
            "text" | "txt" | "plain" => Some(ReportFormat::Text),
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            "pdf" => Some(ReportFormat::Pdf),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Pdf => "pdf",
        }
    }

    /// The MIME type, with the charset for text formats.
    pub fn mime(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Text => "text/plain; charset=utf-8",
            ReportFormat::Json => "application/json",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
        }
    }

    /// Without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Text => "txt",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Pdf => "pdf",
        }
    }
}

impl std::fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Render `doc` in `format` (HTML self-contained, images as `data:` URIs).
pub fn render(doc: &ReportDoc, format: ReportFormat, lang: Lang) -> Vec<u8> {
    match format {
        ReportFormat::Html => crate::render_html(doc, lang, crate::ImageMode::DataUri)
            .html
            .into_bytes(),
        ReportFormat::Text => crate::render_text(doc, lang).into_bytes(),
        ReportFormat::Json => crate::render_json(doc).into_bytes(),
        ReportFormat::Csv => crate::render_csv(doc, lang).into_bytes(),
        ReportFormat::Pdf => crate::render_pdf(doc, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!(
            ReportFormat::from_extension(Path::new("r.HTM")),
            Some(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_extension(Path::new("/x/r.txt")),
            Some(ReportFormat::Text)
        );
        assert_eq!(
            ReportFormat::from_extension(Path::new("r.pdf")),
            Some(ReportFormat::Pdf)
        );
        assert_eq!(ReportFormat::from_extension(Path::new("r")), None);
        assert_eq!(ReportFormat::from_extension(Path::new("r.docx")), None);
        for f in ReportFormat::ALL {
            assert_eq!(ReportFormat::from_name(f.name()), Some(f));
            assert_eq!(ReportFormat::from_name(f.extension()), Some(f));
            let p = format!("report.{}", f.extension());
            assert_eq!(ReportFormat::from_extension(Path::new(&p)), Some(f));
        }
    }
}
