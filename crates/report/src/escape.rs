//! Making document strings safe for each output. Every string in a
//! [`ReportDoc`](crate::ReportDoc) may have been written by an attacker (a
//! request path, a user name, a log line), so each renderer passes it through
//! one of these before it reaches the output.

/// Escape for HTML text and double- or single-quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Newlines and tabs are plain whitespace in HTML; other control
            // characters and bidi overrides are made visible: a log line must
            // read the same in the mail client as on disk.
            '\n' | '\t' => out.push(c),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Control characters (C0, DEL, C1) and the Unicode bidi controls that can
/// make text display differently from what it is ("trojan source").
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn push_visible(out: &mut String, c: char) {
    use std::fmt::Write;
    let n = u32::from(c);
    if n < 0x100 {
        let _ = write!(out, "\\x{n:02x}");
    } else {
        let _ = write!(out, "\\u{{{n:04x}}}");
    }
}

/// A log line (or any document string) for a terminal or plain-text mail:
/// control characters, including ESC, tab and newlines, become `\xNN`, so no
/// terminal escape sequence passes through and a line stays one line.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A document string (title, description) for one flowing paragraph of text
/// or PDF: newlines and tabs become spaces, other control characters are made
/// visible as in [`visible`].
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' | '\r' => out.push(' '),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` in place of the rest.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF,
/// quotes doubled. A cell that a spreadsheet would read as a formula (first
/// character `= + - @`, tab or CR) gets a leading `'`, so an attacker's
/// `=HYPERLINK(…)` in a user name stays text when the file is opened.
pub fn csv_cell(s: &str) -> String {
    let neutral;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        neutral = format!("'{s}");
        neutral.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(html("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(html("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(html("a\nb"), "a\nb");
        assert_eq!(inline("a\nb\u{7}"), "a b\\x07");
        assert_eq!(html("héllo ünïcode"), "héllo ünïcode");
    }

    #[test]
    fn visible_shows_control_characters() {
        assert_eq!(
            visible("GET /\u{1b}]0;pwned\u{7}\r\n"),
            "GET /\\x1b]0;pwned\\x07\\x0d\\x0a"
        );
        assert_eq!(visible("tab\there"), "tab\\x09here");
        assert_eq!(visible("\u{85}"), "\\x85");
        assert_eq!(visible("plain é"), "plain é");
    }

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("äöü", 3), "äöü");
        assert_eq!(truncate("äöüß", 3), "äö…");
        assert_eq!(truncate("abc", 0), "…");
    }

    #[test]
    fn csv_cells_are_quoted_and_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+49 123"), "'+49 123");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://evil\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""
        );
    }
}
