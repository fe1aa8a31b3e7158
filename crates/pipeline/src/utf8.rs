//! Log lines are bytes, not always UTF-8 (latin-1 user agents, binary garbage).
//! Rather than allocate a lossy copy per bad line, invalid sequences are
//! overwritten with `?` in the chunk buffer itself, once per chunk, so every
//! later stage can borrow `&str` from it. Valid chunks cost one validation pass.

/// Replace every invalid UTF-8 sequence in `data` with `?` bytes, in place.
pub fn repair_in_place(data: &mut [u8]) {
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
}
