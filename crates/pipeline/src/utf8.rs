//! Log lines are bytes, not always UTF-8 (latin-1 user agents, binary garbage).
//! Rather than allocate a lossy copy per bad line, invalid sequences are
//! overwritten with `?` in the chunk buffer itself, once per chunk, so every
//! later stage can borrow `&str` from it. Valid chunks cost one vectorised
//! validation pass (simdutf8), then [`as_str`] another: lines are then cut from
//! the chunk's `&str` instead of being validated one by one.

/// Replace every invalid UTF-8 sequence in `data` with `?` bytes, in place.
pub fn repair_in_place(data: &mut [u8]) {
    if simdutf8::basic::from_utf8(data).is_ok() {
        return;
    }
    let mut start = 0;
    while start < data.len() {
        match std::str::from_utf8(&data[start..]) {
            Ok(_) => return,
            Err(e) => {
                let bad_at = start + e.valid_up_to();
                let bad_len = e.error_len().unwrap_or(data.len() - bad_at);
                for b in &mut data[bad_at..bad_at + bad_len] {
                    *b = b'?';
                }
                start = bad_at + bad_len;
            }
        }
    }
}

/// `data` as text after [`repair_in_place`] (which makes it valid); `None` only
/// if it was not repaired.
pub fn as_str(data: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(data).ok()
}

/// The `&str` of `line`, a sub-slice of the bytes `text` was validated from
/// (starting at `base`): an O(1) slice of the text instead of a validation.
pub fn line_str<'t>(text: &'t str, base: usize, line: &[u8]) -> Option<&'t str> {
    let start = (line.as_ptr() as usize).checked_sub(base)?;
    text.get(start..start.checked_add(line.len())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_invalid_sequences_only() {
        let mut data = b"ok \xff\xfe caf\xc3\xa9 \xe2\x82 end\xc3".to_vec();
        repair_in_place(&mut data);
        assert_eq!(std::str::from_utf8(&data).ok(), Some("ok ?? café ?? end?"));
        let mut good = "plain ascii and ünïcode".as_bytes().to_vec();
        let before = good.clone();
        repair_in_place(&mut good);
        assert_eq!(good, before);
    }

    #[test]
    fn lines_are_cut_from_the_validated_text() {
        let data = "first\nsecond ünï\n".as_bytes().to_vec();
        let text = as_str(&data).expect("valid");
        let base = data.as_ptr() as usize;
        let second = data.get(6..18).expect("in range");
        assert_eq!(line_str(text, base, second), Some("second ünï"));
        // Not a sub-slice of the text: refused, not mis-cut.
        let other = b"elsewhere".to_vec();
        assert_eq!(
            line_str(text, base, &other).filter(|s| *s == "elsewhere"),
            None
        );
    }
}
