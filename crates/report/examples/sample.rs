//! Writes the sample report in every format and language to a directory, to
//! look at the layout: `cargo run -p secmo-report --example sample -- /tmp/r`
//! then open `/tmp/r/sample.en.html`, or `pdftoppm -png -r 50 sample.en.pdf p`.

use secmo_report::sample::sample_doc;
use secmo_report::{Lang, ReportFormat, render};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_string()));
    std::fs::create_dir_all(&dir)?;
    let doc = sample_doc();
    for lang in Lang::ALL {
        for f in ReportFormat::ALL {
            let path = dir.join(format!("sample.{lang}.{}", f.extension()));
            std::fs::write(&path, render(&doc, f, lang))?;
            println!("{}", path.display());
        }
    }
    // The English ones also under the plain names.
    std::fs::write(
        dir.join("sample.html"),
        render(&doc, ReportFormat::Html, Lang::En),
    )?;
    std::fs::write(
        dir.join("sample.pdf"),
        render(&doc, ReportFormat::Pdf, Lang::En),
    )?;
    Ok(())
}
