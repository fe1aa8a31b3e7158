//! Request text normalisation: undo the encodings attackers use to slip past
//! literal patterns, so one pattern covers `union select`, `UNION/**/SELECT`,
//! `%2555nion%2520select` and `&#117;nion select`.
//!
//! Case is left alone: the automata are ASCII case-insensitive and regexes run
//! with `(?i)`, so lowercasing would only cost a copy.

/// Decode passes for nested percent-encoding (`%252e` → `%2e` → `.`). Three
/// covers triple encoding; more only helps an attacker burn CPU.
const MAX_PASSES: usize = 3;

/// True when `text` holds nothing normalisation would change, so matching can
/// use it as it is.
pub fn is_clean(text: &[u8], plus_as_space: bool) -> bool {
    let table = if plus_as_space { &DIRTY_QUERY } else { &DIRTY };
    // Branch-free over whole chunks; most fields are clean, so all of it is read anyway.
    text.chunks(64)
        .all(|c| !c.iter().fold(false, |acc, &b| acc | table[usize::from(b)]))
        && !has_double_space(text)
}

/// A run of two spaces (collapsed by normalisation). Spaces are rare in
/// request fields, so a vectorised search for each one beats a substring search.
fn has_double_space(text: &[u8]) -> bool {
    memchr::memchr_iter(b' ', text).any(|i| text.get(i + 1) == Some(&b' '))
}

const fn dirty_table(plus: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'%' as usize] = true;
    t[b'&' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'*' as usize] = true;
    // Empty quote pairs inside words are removed.
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t[0x7f] = true;
    t[0xc0] = true;
    t[0xc1] = true;
    t[0xc2] = true;
    t[0xe2] = true;
    t[0xef] = true;
    t[b'+' as usize] = plus;
    t
}

/// Bytes that make a field need normalisation (`+` only in query strings).
static DIRTY: [bool; 256] = dirty_table(false);
static DIRTY_QUERY: [bool; 256] = dirty_table(true);

/// Normalise `input` into `out` (cleared first). `tmp` is a second reusable buffer.
/// `plus_as_space` applies to query strings (`+` is a space in form encoding).
pub fn normalise(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(input);
    let encoded = if plus_as_space {
        memchr::memchr3(b'%', b'+', b'\\', input).is_some()
    } else {
        memchr::memchr2(b'%', b'\\', input).is_some()
    };
    // `+` becomes a space in every pass: payloads double-encode their spaces
    // as `%2B` as often as as `%2520`, and over-decoding only helps matching.
    for _ in 0..if encoded { MAX_PASSES } else { 0 } {
        tmp.clear();
        let changed = url_decode(out, plus_as_space, tmp);
        std::mem::swap(out, tmp);
        if !changed {
            break;
        }
    }
    if memchr::memchr(b'&', out).is_some() {
        tmp.clear();
        if html_decode(out, tmp) {
            std::mem::swap(out, tmp);
            // An entity may have hidden one more percent-encoding layer.
            tmp.clear();
            if url_decode(out, false, tmp) {
                std::mem::swap(out, tmp);
            }
        }
    }
    tmp.clear();
    tidy(out, tmp);
    std::mem::swap(out, tmp);
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_at(s: &[u8], i: usize) -> Option<u8> {
    let hi = hex(*s.get(i)?)?;
    let lo = hex(*s.get(i + 1)?)?;
    Some((hi << 4) | lo)
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// `%xx`, `%uXXXX` and (optionally) `+`. Returns whether anything was decoded.
fn url_decode(s: &[u8], plus_as_space: bool, out: &mut Vec<u8>) -> bool {
    let mut changed = false;
    // The previous bytes were an octal escape (see `octal_at`).
    let mut in_octal = false;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b != b'\\' {
            in_octal = false;
        }
        if b == b'%' {
            if let Some(v) = hex_at(s, i + 1) {
                out.push(v);
                i += 3;
                changed = true;
                continue;
            }
            if matches!(s.get(i + 1), Some(b'u' | b'U'))
                && let (Some(hi), Some(lo)) = (hex_at(s, i + 2), hex_at(s, i + 4))
            {
                let code = (u32::from(hi) << 8) | u32::from(lo);
                // IIS maps full-width forms (U+FF01..U+FF5E) onto ASCII.
                let code = if (0xff01..=0xff5e).contains(&code) {
                    code - 0xfee0
                } else {
                    code
                };
                push_char(out, char::from_u32(code).unwrap_or('\u{fffd}'));
                i += 6;
                changed = true;
                continue;
            }
        } else if b == b'\\' {
            // JavaScript escapes: `\u0061`, `\x61`.
            match s.get(i + 1) {
                Some(b'u') => {
                    if let (Some(hi), Some(lo)) = (hex_at(s, i + 2), hex_at(s, i + 4)) {
                        let code = (u32::from(hi) << 8) | u32::from(lo);
                        push_char(out, char::from_u32(code).unwrap_or('\u{fffd}'));
                        i += 6;
                        changed = true;
                        continue;
                    }
                }
                Some(b'x') => {
                    if let Some(v) = hex_at(s, i + 2) {
                        out.push(v);
                        i += 4;
                        changed = true;
                        continue;
                    }
                }
                // JavaScript octal escapes, only in a run of two or more
                // (`\141\154\145\162\164` is `alert`): a lone `\123` is as
                // likely a Windows directory name.
                Some(b'0'..=b'7') => {
                    if let Some((v, used)) = octal_at(s, i)
                        && (in_octal || octal_at(s, i + used).is_some())
                    {
                        out.push(v);
                        i += used;
                        in_octal = true;
                        changed = true;
                        continue;
                    }
                }
                _ => {}
            }
        } else if b == b'+' && plus_as_space {
            out.push(b' ');
            i += 1;
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed
}

/// A JavaScript octal escape at `s[i]` (a backslash, then two or three octal
/// digits, a value up to 0o377): (byte, bytes consumed).
fn octal_at(s: &[u8], i: usize) -> Option<(u8, usize)> {
    if s.get(i) != Some(&b'\\') {
        return None;
    }
    let mut digits = s
        .get(i + 1..)?
        .iter()
        .take(3)
        .take_while(|b| matches!(b, b'0'..=b'7'))
        .count();
    // Three digits only up to `\377`; `\477` is `\47` then `7`.
    if digits == 3 && s.get(i + 1).is_some_and(|&d| d > b'3') {
        digits = 2;
    }
    if digits < 2 {
        return None;
    }
    let v = s
        .get(i + 1..i + 1 + digits)?
        .iter()
        .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
    u8::try_from(v).ok().map(|v| (v, 1 + digits))
}

const NAMED_ENTITIES: &[(&[u8], u8)] = &[
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"quot", b'"'),
    (b"apos", b'\''),
    (b"amp", b'&'),
    (b"colon", b':'),
    (b"lpar", b'('),
    (b"rpar", b')'),
    (b"sol", b'/'),
    (b"bsol", b'\\'),
    (b"semi", b';'),
    (b"equals", b'='),
    (b"grave", b'`'),
    // Browsers drop tabs and line breaks inside URL schemes (`ja&Tab;vascript:`);
    // as NUL they are removed by the final pass.
    (b"tab", 0),
    (b"newline", 0),
    (b"nbsp", b' '),
    (b"period", b'.'),
    (b"comma", b','),
    (b"excl", b'!'),
    (b"num", b'#'),
    (b"dollar", b'$'),
    (b"percnt", b'%'),
    (b"lsqb", b'['),
    (b"rsqb", b']'),
    (b"lcub", b'{'),
    (b"rcub", b'}'),
    (b"vert", b'|'),
    (b"plus", b'+'),
];

/// HTML character references: `&lt;`, `&#60;`, `&#x3c;` (the `;` is optional
/// for numeric ones, as browsers accept). Returns whether anything was decoded.
fn html_decode(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'&'
            && let Some((c, used)) = entity(s.get(i + 1..).unwrap_or_default())
        {
            push_char(out, c);
            i += 1 + used;
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed
}

/// Parse the reference after `&`: (character, bytes consumed).
fn entity(s: &[u8]) -> Option<(char, usize)> {
    if s.first() == Some(&b'#') {
        let (radix, start) = match s.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        // Browsers accept any number of leading zeros (`&#0000000060;`).
        let zeros = s
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| b == b'0')
            .count();
        let mut end = start + zeros;
        let mut code: u32 = 0;
        while let Some(d) = s.get(end).and_then(|&b| (b as char).to_digit(radix)) {
            code = code.saturating_mul(radix).saturating_add(d);
            end += 1;
            if end - start - zeros > 8 {
                break;
            }
        }
        if end == start {
            return None;
        }
        let used = if s.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((char::from_u32(code).unwrap_or('\u{fffd}'), used));
    }
    let name_len = s
        .iter()
        .take(8)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if s.get(name_len) != Some(&b';') {
        return None;
    }
    let name = s.get(..name_len)?;
    NAMED_ENTITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| (char::from(*c), name_len + 1))
}

/// The final single pass: overlong UTF-8 for `.` `/` `\`, backslash to slash,
/// SQL comment markers and whitespace/control runs to one space (a run with a
/// line break becomes `\n`, a command separator), other control bytes dropped.
fn tidy(s: &[u8], out: &mut Vec<u8>) {
    // 0 = none, 1 = space, 2 = newline pending.
    let mut pending: u8 = 0;
    // A backslash was dropped from the word being written (see `shell_escape`).
    let mut in_word = false;
    // Inside a MySQL `/*! ... */` whose content is kept.
    let mut versioned = false;
    // No `*/` follows the current position.
    let mut unclosed = false;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let mut next = i + 1;
        let mapped = match b {
            0xc0 | 0xc1 => match s.get(i + 1) {
                Some(0xae) => {
                    next = i + 2;
                    Some(b'.')
                }
                Some(0xaf) => {
                    next = i + 2;
                    Some(b'/')
                }
                Some(0x9c) => {
                    next = i + 2;
                    Some(b'/')
                }
                Some(0xa0) => {
                    next = i + 2;
                    pending = pending.max(1);
                    None
                }
                _ => Some(b),
            },
            // Zero-width and bidi controls (U+200B-U+200F, U+202A-U+202E), BOM and
            // U+FFFD split keywords without changing how they read.
            0xe2 if s.get(i + 1) == Some(&0x80)
                && s.get(i + 2)
                    .is_some_and(|b| matches!(b, 0x8b..=0x8f | 0xaa..=0xae)) =>
            {
                next = i + 3;
                None
            }
            // Typographic quotes and the acute accent: Windows "best fit"
            // code-page conversion turns them into ASCII quotes inside the
            // database driver, so `1’ OR ’1’=’1` works as an injection.
            0xe2 if s.get(i + 1) == Some(&0x80)
                && s.get(i + 2).is_some_and(|b| matches!(b, 0x98..=0x9b)) =>
            {
                next = i + 3;
                Some(b'\'')
            }
            0xe2 if s.get(i + 1) == Some(&0x80)
                && s.get(i + 2).is_some_and(|b| matches!(b, 0x9c..=0x9f)) =>
            {
                next = i + 3;
                Some(b'"')
            }
            0xc2 if s.get(i + 1) == Some(&0xb4) => {
                next = i + 2;
                Some(b'\'')
            }
            0xef if matches!(
                (s.get(i + 1), s.get(i + 2)),
                (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbd))
            ) =>
            {
                next = i + 3;
                None
            }
            // A backslash inside a short word is shell quoting (`c\at`, `\c\a\t`
            // run `cat`): drop it. Elsewhere it is a Windows path separator.
            // Escaped line breaks written out (`;\\n.shell id`, `sh\\n`): a
            // separator as much as a real one. Only before a non-word byte, so
            // `C:\\new\\` stays a path.
            b'\\'
                if matches!(s.get(i + 1), Some(b'n' | b'r'))
                    && s.get(i + 2)
                        .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'\\') =>
            {
                next = i + 2;
                pending = 2;
                None
            }
            // A backslash before `{`, `}` or `$` only escapes it (`$\\{::-j\\}`).
            b'\\' if matches!(s.get(i + 1), Some(b'{' | b'}' | b'$')) => None,
            b'\\' if pending == 0 && shell_escape(out, s, i, in_word) => {
                next = i + s
                    .get(i..)
                    .map_or(1, |r| r.iter().take_while(|&&c| c == b'\\').count());
                in_word = true;
                None
            }
            b'\\' => Some(b'/'),
            // An empty quote pair inside a word is shell quoting (`c''at`, `wh""oami`).
            b'\'' | b'"'
                if pending == 0
                    && s.get(i + 1) == Some(&b)
                    && out.last().is_some_and(u8::is_ascii_alphanumeric)
                    && s.get(i + 2).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                next = i + 2;
                None
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                // MySQL runs the content of `/*!50000 ... */`: keep it, drop the
                // markers. A closed plain comment is ignored by SQL: drop it whole,
                // so `union/*&q=*/select` reads `union select`. An unclosed `/*`
                // stays as it is: it is a shell glob (`/et*/*wd`) as often as SQL.
                next = i + 2;
                if s.get(next) == Some(&b'!') {
                    next += 1;
                    while s.get(next).is_some_and(u8::is_ascii_digit) {
                        next += 1;
                    }
                    versioned = true;
                    pending = pending.max(1);
                    None
                } else if let Some(close) = s
                    .get(next..)
                    .filter(|_| !unclosed)
                    .and_then(|rest| memchr::memmem::find(rest, b"*/"))
                {
                    next += close + 2;
                    pending = pending.max(1);
                    None
                } else {
                    // No `*/` anywhere after here: later searches would fail too.
                    unclosed = true;
                    next = i + 1;
                    Some(b'/')
                }
            }
            // The close of a kept comment, or a stray close before a space
            // (`select*/ 1`); a glob such as `/et*/*wd` keeps its `*/`.
            b'*' if s.get(i + 1) == Some(&b'/')
                && (versioned || s.get(i + 2).is_none_or(u8::is_ascii_whitespace)) =>
            {
                next = i + 2;
                versioned = false;
                pending = pending.max(1);
                None
            }
            b'\n' | b'\r' => {
                pending = 2;
                None
            }
            b' ' | b'\t' | 0x0b | 0x0c => {
                pending = pending.max(1);
                None
            }
            0..=0x1f | 0x7f => None,
            _ => Some(b),
        };
        if let Some(c) = mapped {
            if !c.is_ascii_alphabetic() {
                in_word = false;
            }
            match pending {
                1 if !out.is_empty() => out.push(b' '),
                2 => out.push(b'\n'),
                _ => {}
            }
            pending = 0;
            out.push(c);
        }
        i = next;
    }
    match pending {
        1 if !out.is_empty() => out.push(b' '),
        2 => out.push(b'\n'),
        _ => {}
    }
}

/// Whether the backslash run at `s[i]` is shell quoting inside a word: a letter
/// on both sides, and the word so far either already had a backslash dropped
/// (`in_word`) or is a short run not following a slash (`c\at`, `who\ami`).
/// `..\etc\passwd` and `C:\Windows\win.ini` keep their separators.
fn shell_escape(out: &[u8], s: &[u8], i: usize, in_word: bool) -> bool {
    let after = s.get(i..).and_then(|r| r.iter().find(|&&c| c != b'\\'));
    if !after.is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let run = out
        .iter()
        .rev()
        .take(SHORT_WORD + 1)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let before = out.len().checked_sub(run + 1).and_then(|j| out.get(j));
    run > 0 && (in_word || run == 1 || (run <= SHORT_WORD && before != Some(&b'/')))
}

/// Longest letter run a backslash may follow and still count as shell quoting.
const SHORT_WORD: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str, plus: bool) -> String {
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        normalise(s.as_bytes(), plus, &mut out, &mut tmp);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn clean_text_needs_no_work() {
        assert!(is_clean(b"/index.html", true));
        assert!(is_clean(b"Mozilla/5.0 (X11; Linux)", false));
        assert!(!is_clean(b"a=1+2", true));
        assert!(is_clean(b"a=1+2", false));
        assert!(!is_clean(b"%27", false));
        assert!(!is_clean(b"a  b", false));
        assert!(!is_clean(b"a\0b", false));
    }

    #[test]
    fn nested_percent_encoding() {
        assert_eq!(norm("%2527%20or%25201=1", false), "' or 1=1");
        assert_eq!(norm("%25252e%25252e%25252f", false), "../");
        assert_eq!(norm("q=a+b", true), "q=a b");
        assert_eq!(norm("%u003cscript%u003e", false), "<script>");
        assert_eq!(norm("%uff1cscript", false), "<script");
        assert_eq!(norm("%zz%", false), "%zz%");
        assert_eq!(norm("q=%252b1+2", true), "q= 1 2");
        assert_eq!(norm("\\u0061lert\\x28", false), "alert(");
    }

    #[test]
    fn html_entities() {
        assert_eq!(norm("&lt;img src=x&gt;", false), "<img src=x>");
        assert_eq!(norm("&#60;&#x3C;&#x3c", false), "<<<");
        assert_eq!(
            norm("javascript&colon;alert&lpar;1&rpar;", false),
            "javascript:alert(1)"
        );
        assert_eq!(norm("a&b=c&unknown;", false), "a&b=c&unknown;");
    }

    #[test]
    fn comments_whitespace_slashes_controls() {
        assert_eq!(norm("UNION/**/SELECT", false), "UNION SELECT");
        assert_eq!(norm("/*!50000union*/ select", false), "union select");
        assert_eq!(norm("union/*&q=*/select", false), "union select");
        assert_eq!(norm("cat /et*/*wd", false), "cat /et*/*wd");
        assert_eq!(norm("select*/ 1", false), "select 1");
        assert_eq!(
            norm("1%E2%80%99 OR %E2%80%9C1%E2%80%9D=%C2%B4x", false),
            "1' OR \"1\"=\'x"
        );
        assert_eq!(norm("1 or 1=1/*", false), "1 or 1=1/*");
        assert_eq!(norm("a \t\t b", false), "a b");
        assert_eq!(norm("x%0a%0did", false), "x\nid");
        assert_eq!(norm("..\\..\\windows", false), "../../windows");
        assert_eq!(norm("/etc/passwd%00.jpg", false), "/etc/passwd.jpg");
        assert_eq!(norm("%c0%ae%c0%ae%c0%af", false), "../");
        assert_eq!(norm("C:\\Windows\\win.ini", false), "C:/Windows/win.ini");
    }

    #[test]
    fn script_escapes_and_padded_entities() {
        assert_eq!(
            norm("\\141\\154\\145\\162\\164\\50\\61\\51", false),
            "alert(1)"
        );
        // A lone octal-looking escape is a Windows directory, not JavaScript.
        assert_eq!(norm("C:\\101\\docs", false), "C:/101/docs");
        assert_eq!(norm("&#0000000060;&#x0000003e", false), "<>");
        assert_eq!(norm("$\\{::-j\\}", false), "${::-j}");
        assert_eq!(norm(";\\n.databases", false), ";\n.databases");
        assert_eq!(norm("-e sh\\n", false), "-e sh\n");
        assert_eq!(norm("C:\\new\\file", false), "C:/new/file");
    }

    #[test]
    fn shell_quoting_inside_words() {
        assert_eq!(norm("c\\at /etc/passwd", false), "cat /etc/passwd");
        assert_eq!(norm("\\c\\a\\t", false), "/cat");
        assert_eq!(norm("c\\\\a\\\\t", false), "cat");
        assert_eq!(norm("..\\windows\\system32", false), "../windows/system32");
        assert_eq!(norm("..\\etc\\passwd", false), "../etc/passwd");
        assert_eq!(norm("\\e\\t\\c/\\p\\a\\s\\sw\\d", false), "/etc//passwd");
        assert_eq!(norm("who\\ami", false), "whoami");
        assert_eq!(norm("ti''me py\"\"thon", false), "time python");
        assert_eq!(norm("'' or ''='", false), "'' or ''='");
        assert_eq!(norm("it's 'a'", false), "it's 'a'");
        assert_eq!(
            norm("un%e2%80%8bion%c0%a0se%ef%bf%bdlect", false),
            "union select"
        );
    }
}
