//! Allocation-free civil-time arithmetic for the parsers' hot path, and RFC 3339
//! formatting for output. Parsing a timestamp must not cost a time-zone database
//! lookup per line, so the arithmetic is done here by hand (Howard Hinnant's
//! days-from-civil algorithm); formatting, which is rare, goes through jiff.

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch for a UTC civil time, or `None` if a field is out of range.
/// `offset_secs` is the zone's offset east of UTC (`-0700` is `-25200`).
#[allow(clippy::too_many_arguments)]
pub fn civil_to_unix(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    millis: u32,
    offset_secs: i32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
        || millis > 999
        || !(0..=9999).contains(&year)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec)
        - i64::from(offset_secs);
    Some(secs * 1000 + i64::from(millis))
}

/// Month number (1-12) from a three-letter English abbreviation, any case.
pub fn month_from_abbrev(s: &[u8]) -> Option<u32> {
    if s.len() < 3 {
        return None;
    }
    let key = [
        s[0].to_ascii_lowercase(),
        s[1].to_ascii_lowercase(),
        s[2].to_ascii_lowercase(),
    ];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut n = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// Parse an RFC 3339 / ISO 8601 timestamp such as `2024-03-01T12:00:00Z`,
/// `2024-03-01 12:00:00.123+02:00` or `2024-03-01T12:00:00` (taken as UTC).
/// Returns milliseconds since the epoch and the number of bytes consumed.
pub fn parse_rfc3339(s: &str) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let min = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    let mut i = 19;
    let mut millis = 0u32;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let mut offset = 0i32;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' => i += 1,
            b'+' | b'-' if b.len() >= i + 3 => {
                let sign = if b[i] == b'-' { -1 } else { 1 };
                let h = digits(&b[i + 1..i + 3])?;
                i += 3;
                let mut m = 0;
                if i < b.len() && b[i] == b':' && b.len() >= i + 3 {
                    m = digits(&b[i + 1..i + 3])?;
                    i += 3;
                } else if b.len() >= i + 2 && b[i].is_ascii_digit() && b[i + 1].is_ascii_digit() {
                    m = digits(&b[i..i + 2])?;
                    i += 2;
                }
                offset = sign * (h as i32 * 3600 + m as i32 * 60);
            }
            _ => {}
        }
    }
    let ms = civil_to_unix(i64::from(year), month, day, hour, min, sec, millis, offset)?;
    Some((ms, i))
}

/// RFC 3339 UTC with second precision (milliseconds when not whole), e.g. `2024-03-01T12:00:00Z`.
pub fn format_rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) if ms % 1000 == 0 => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::from("invalid-time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_known_epochs() {
        assert_eq!(civil_to_unix(1970, 1, 1, 0, 0, 0, 0, 0), Some(0));
        // 10/Oct/2000:13:55:36 -0700 == 2000-10-10T20:55:36Z == 971211336
        assert_eq!(
            civil_to_unix(2000, 10, 10, 13, 55, 36, 0, -7 * 3600),
            Some(971_211_336_000)
        );
        assert_eq!(
            civil_to_unix(2024, 2, 29, 23, 59, 59, 0, 0),
            Some(1_709_251_199_000)
        );
        assert_eq!(civil_to_unix(2024, 13, 1, 0, 0, 0, 0, 0), None);
        assert_eq!(civil_to_unix(2024, 1, 1, 24, 0, 0, 0, 0), None);
    }

    #[test]
    fn rfc3339_variants() {
        assert_eq!(
            parse_rfc3339("2000-10-10T20:55:36Z"),
            Some((971_211_336_000, 20))
        );
        assert_eq!(
            parse_rfc3339("2000-10-10 22:55:36.5+02:00 rest"),
            Some((971_211_336_500, 27))
        );
        assert_eq!(
            parse_rfc3339("2000-10-10T20:55:36.123456"),
            Some((971_211_336_123, 26))
        );
        assert_eq!(
            parse_rfc3339("2000-10-10T13:55:36-0700"),
            Some((971_211_336_000, 24))
        );
        assert_eq!(parse_rfc3339("2000-10-10"), None);
        assert_eq!(parse_rfc3339("2000-1x-10T20:55:36Z"), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_rfc3339(971_211_336_000), "2000-10-10T20:55:36Z");
        assert_eq!(format_rfc3339(971_211_336_250), "2000-10-10T20:55:36.250Z");
    }

    #[test]
    fn months() {
        assert_eq!(month_from_abbrev(b"Oct"), Some(10));
        assert_eq!(month_from_abbrev(b"DEC"), Some(12));
        assert_eq!(month_from_abbrev(b"Okt"), None);
        assert_eq!(month_from_abbrev(b"Oc"), None);
    }
}
