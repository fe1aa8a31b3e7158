//! Writers for the pieces of a line: timestamps in each server's style,
//! numbers, IP addresses, and the escaping each format needs. All append to a
//! caller's `String` so a line costs no allocation.

use std::fmt::Write as _;
use std::net::IpAddr;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC civil time split into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    pub millis: u32,
}

impl Civil {
    /// From milliseconds since the epoch (Howard Hinnant's civil-from-days).
    pub fn from_ms(ms: i64) -> Civil {
        let secs = ms.div_euclid(1000);
        let millis = ms.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            min: (sod % 3600 / 60) as u32,
            sec: (sod % 60) as u32,
            millis,
        }
    }
}

pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Zero-padded to `width` digits.
pub fn push_pad(out: &mut String, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    for _ in digits..width {
        out.push('0');
    }
    push_u64(out, n);
}

fn push_ymd_hms(out: &mut String, c: &Civil, date_time_sep: char) {
    push_pad(out, c.year.max(0) as u64, 4);
    out.push('-');
    push_pad(out, u64::from(c.month), 2);
    out.push('-');
    push_pad(out, u64::from(c.day), 2);
    out.push(date_time_sep);
    push_hms(out, c);
}

fn push_hms(out: &mut String, c: &Civil) {
    push_pad(out, u64::from(c.hour), 2);
    out.push(':');
    push_pad(out, u64::from(c.min), 2);
    out.push(':');
    push_pad(out, u64::from(c.sec), 2);
}

fn month_name(m: u32) -> &'static str {
    MONTHS[(m.clamp(1, 12) - 1) as usize]
}

/// nginx/Apache `10/Oct/2000:13:55:36 +0000`.
pub fn push_clf_time(out: &mut String, c: &Civil) {
    push_pad(out, u64::from(c.day), 2);
    out.push('/');
    out.push_str(month_name(c.month));
    out.push('/');
    push_pad(out, c.year.max(0) as u64, 4);
    out.push(':');
    push_hms(out, c);
    out.push_str(" +0000");
}

/// RFC 3164 `Mar  1 12:00:00` (day padded with a space).
pub fn push_syslog_time(out: &mut String, c: &Civil) {
    out.push_str(month_name(c.month));
    out.push(' ');
    if c.day < 10 {
        out.push(' ');
    }
    push_u64(out, u64::from(c.day));
    out.push(' ');
    push_hms(out, c);
}

/// `2024-03-01T12:00:00.123Z`.
pub fn push_iso_millis(out: &mut String, c: &Civil) {
    push_ymd_hms(out, c, 'T');
    out.push('.');
    push_pad(out, u64::from(c.millis), 3);
    out.push('Z');
}

/// `2024-03-01T12:00:00Z`.
pub fn push_iso_secs(out: &mut String, c: &Civil) {
    push_ymd_hms(out, c, 'T');
    out.push('Z');
}

/// MySQL 8 error log: `2024-03-01T12:00:00.123456Z` (`micros` below 1000 fills the last digits).
pub fn push_mysql_time(out: &mut String, c: &Civil, micros: u32) {
    push_ymd_hms(out, c, 'T');
    out.push('.');
    push_pad(
        out,
        u64::from(c.millis) * 1000 + u64::from(micros % 1000),
        6,
    );
    out.push('Z');
}

/// PostgreSQL `%m`: `2024-03-01 12:00:00.123 UTC`.
pub fn push_pg_time(out: &mut String, c: &Civil) {
    push_ymd_hms(out, c, ' ');
    out.push('.');
    push_pad(out, u64::from(c.millis), 3);
    out.push_str(" UTC");
}

pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            for (i, b) in o.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(*b));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex_byte(out: &mut String, prefix: &str, b: u8) {
    out.push_str(prefix);
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

/// Inside a quoted access-log field, as nginx escapes: `"`, `\` and bytes
/// outside printable ASCII become `\xHH`.
pub fn push_nginx_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    // Copy runs of printable ASCII at once; escape the bytes between them.
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.push_str(s.get(start..i).unwrap_or(""));
            push_hex_byte(out, "\\x", b);
            start = i + 1;
        }
    }
    out.push_str(s.get(start..).unwrap_or(""));
}

/// Inside a JSON string.
pub fn push_json_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// One RFC 4180 CSV field, quoted only when it has to be.
pub fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for ch in s.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What a browser sends for a form value: unreserved kept, space `+`, the rest `%HH`.
/// `raw_quote` keeps `'` as older browsers send it.
pub fn push_form_encoded(out: &mut String, s: &str, raw_quote: bool) {
    for &b in s.as_bytes() {
        if is_unreserved(b) || (raw_quote && b == b'\'') {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            push_hex_byte(out, "%", b);
        }
    }
}

/// The minimum a raw client (curl, a script) must encode to put text in a
/// request line: spaces, `#` (else it is a fragment) and non-printable bytes.
pub fn push_minimal_encoded(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if b == b' ' || b == b'#' || !(0x21..0x7f).contains(&b) {
            push_hex_byte(out, "%", b);
        } else {
            out.push(char::from(b));
        }
    }
}

/// Every byte but the unreserved ones as `%HH` (`keep_slash` leaves `/`).
pub fn push_percent_all(out: &mut String, s: &str, keep_slash: bool) {
    for &b in s.as_bytes() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            push_hex_byte(out, "%", b);
        }
    }
}

/// IIS-style `%u00HH` for every byte but the unreserved ones.
pub fn push_percent_u(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if is_unreserved(b) || b == b'/' {
            out.push(char::from(b));
        } else {
            push_hex_byte(out, "%u00", b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_event::civil_to_unix;

    #[test]
    fn civil_round_trips_through_event_time() {
        for ms in [
            0i64,
            971_211_336_000,
            1_709_251_199_999,
            1_709_294_400_123,
            4_102_444_800_000,
        ] {
            let c = Civil::from_ms(ms);
            let back = civil_to_unix(c.year, c.month, c.day, c.hour, c.min, c.sec, c.millis, 0);
            assert_eq!(back, Some(ms));
        }
    }

    #[test]
    fn time_styles() {
        let c = Civil::from_ms(1_709_294_400_123); // 2024-03-01T12:00:00.123Z
        let mut s = String::new();
        push_clf_time(&mut s, &c);
        assert_eq!(s, "01/Mar/2024:12:00:00 +0000");
        s.clear();
        push_syslog_time(&mut s, &c);
        assert_eq!(s, "Mar  1 12:00:00");
        s.clear();
        push_iso_millis(&mut s, &c);
        assert_eq!(s, "2024-03-01T12:00:00.123Z");
        s.clear();
        push_mysql_time(&mut s, &c, 456);
        assert_eq!(s, "2024-03-01T12:00:00.123456Z");
        s.clear();
        push_pg_time(&mut s, &c);
        assert_eq!(s, "2024-03-01 12:00:00.123 UTC");
    }

    #[test]
    fn escapes() {
        let mut s = String::new();
        push_nginx_escaped(&mut s, "a\"b\\c\té");
        assert_eq!(s, "a\\x22b\\x5Cc\\x09\\xC3\\xA9");
        s.clear();
        push_form_encoded(&mut s, "O'Brien <3 & co", false);
        assert_eq!(s, "O%27Brien+%3C3+%26+co");
        s.clear();
        push_minimal_encoded(&mut s, "1 OR 1=1#");
        assert_eq!(s, "1%20OR%201=1%23");
        s.clear();
        push_csv_field(&mut s, "Mozilla (KHTML, like \"Gecko\")");
        assert_eq!(s, "\"Mozilla (KHTML, like \"\"Gecko\"\")\"");
        s.clear();
        push_json_escaped(&mut s, "a\"\\\n");
        assert_eq!(s, "a\\\"\\\\\\n");
        s.clear();
        push_ip(
            &mut s,
            "203.0.113.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        assert_eq!(s, "203.0.113.7");
    }
}
