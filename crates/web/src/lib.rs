//! The web dashboard, embedded. `web/` is built by `build.rs` (npm) and
//! `web/dist` is compiled into the binary; the server asks for files by path.

use std::borrow::Cow;

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist/"]
struct Dist;

/// The bytes and MIME type of a built file (`""` or `"index.html"` for the page).
pub fn asset(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let file = Dist::get(path)?;
    Some((file.data, mime(path)))
}

/// The single page, for `/` and client-side routes.
pub fn index_html() -> Cow<'static, [u8]> {
    asset("index.html").map(|(d, _)| d).unwrap_or(Cow::Borrowed(
        b"<!doctype html><title>secmo</title><p>The dashboard was not built.</p>",
    ))
}

/// Files under `assets/` carry a content hash in their names: cache them for a year.
pub fn is_immutable(path: &str) -> bool {
    path.trim_start_matches('/').starts_with("assets/")
}

fn mime(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") | Some("map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_embedded_and_references_hashed_assets() {
        let (html, mime) = asset("/").expect("index.html is embedded");
        assert_eq!(mime, "text/html; charset=utf-8");
        let html = std::str::from_utf8(&html).expect("utf-8");
        assert!(
            html.contains("/assets/"),
            "index.html loads the built bundle"
        );
        assert!(!html.contains("<script>"), "no inline script (CSP)");
        let js = html
            .split('"')
            .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
            .expect("a script tag");
        let (_, m) = asset(js).expect("the bundle it references is embedded");
        assert_eq!(m, "text/javascript; charset=utf-8");
        assert!(is_immutable(js));
        assert!(!is_immutable("/index.html"));
    }

    #[test]
    fn unknown_paths_are_none() {
        assert!(asset("/nope.js").is_none());
        assert!(asset("../Cargo.toml").is_none());
    }
}
