//! Splitting a byte stream into complete lines with bounded memory.
//!
//! The splitter owns the only buffer that outlives a read: the partial last line (`carry`), which
//! never grows past `max_line_bytes` — a longer line is cut, its head delivered, and the rest
//! skipped up to its newline (`skipping`).

use memchr::memchr;

/// Where a file's reading stands: everything before `consumed` is delivered (or skipped as the
/// tail of an oversized line when `skipping`); `carry` holds the bytes read after it that do not
/// yet form a complete line.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineState {
    pub consumed: u64,
    pub line: u64,
    pub skipping: bool,
    pub carry: Vec<u8>,
}

impl LineState {
    /// The next byte to read from the input.
    pub fn read_pos(&self) -> u64 {
        self.consumed + self.carry.len() as u64
    }
}

/// Lines collected for one batch.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub first_line: u64,
    pub data: Vec<u8>,
    pub oversized: Vec<u64>,
}

impl Pending {
    fn start_line(&mut self, line: u64) {
        if self.data.is_empty() {
            self.first_line = line;
        }
    }
}

/// Feeds `chunk` (the bytes that follow `st.read_pos()`) through the splitter. Complete lines go
/// to `pending`; `flush` is called whenever `pending` holds at least `max_batch` bytes, with the
/// state positioned just after the last line in it.
pub(crate) fn feed(
    st: &mut LineState,
    mut chunk: &[u8],
    max_line: usize,
    max_batch: usize,
    pending: &mut Pending,
    flush: &mut dyn FnMut(&mut Pending, &LineState),
) {
    while !chunk.is_empty() {
        if st.skipping {
            match memchr(b'\n', chunk) {
                Some(i) => {
                    st.consumed += (i + 1) as u64;
                    st.skipping = false;
                    chunk = &chunk[i + 1..];
                    continue;
                }
                None => {
                    st.consumed += chunk.len() as u64;
                    return;
                }
            }
        }
        match memchr(b'\n', chunk) {
            Some(i) => {
                let len = st.carry.len() + i;
                st.line += 1;
                pending.start_line(st.line);
                if len > max_line {
                    push_cut(pending, &st.carry, &chunk[..i], max_line);
                    pending.oversized.push(st.line);
                } else {
                    pending.data.extend_from_slice(&st.carry);
                    pending.data.extend_from_slice(&chunk[..=i]);
                }
                st.consumed += (len + 1) as u64;
                st.carry.clear();
                chunk = &chunk[i + 1..];
                if pending.data.len() >= max_batch {
                    flush(pending, st);
                }
            }
            None => {
                if st.carry.len() + chunk.len() > max_line {
                    st.line += 1;
                    pending.start_line(st.line);
                    push_cut(pending, &st.carry, chunk, max_line);
                    pending.oversized.push(st.line);
                    st.consumed += (st.carry.len() + chunk.len()) as u64;
                    st.carry.clear();
                    st.skipping = true;
                    if pending.data.len() >= max_batch {
                        flush(pending, st);
                    }
                } else {
                    st.carry.extend_from_slice(chunk);
                }
                return;
            }
        }
    }
}

/// Ends the input: a partial last line becomes a complete line (used when a file is finished for
/// good: a compressed archive at its end, a deleted file after its grace period).
pub(crate) fn finish(st: &mut LineState, pending: &mut Pending) {
    if st.carry.is_empty() {
        return;
    }
    st.line += 1;
    pending.start_line(st.line);
    pending.data.extend_from_slice(&st.carry);
    pending.data.push(b'\n');
    st.consumed += st.carry.len() as u64;
    st.carry.clear();
}

fn push_cut(pending: &mut Pending, carry: &[u8], rest: &[u8], max_line: usize) {
    let from_carry = carry.len().min(max_line);
    pending.data.extend_from_slice(&carry[..from_carry]);
    let from_rest = (max_line - from_carry).min(rest.len());
    pending.data.extend_from_slice(&rest[..from_rest]);
    pending.data.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    type Flushed = Vec<(u64, Vec<u8>, Vec<u64>, u64, bool)>;

    fn run(chunks: &[&[u8]], max_line: usize, max_batch: usize) -> (Flushed, LineState) {
        let mut st = LineState::default();
        let mut pending = Pending::default();
        let mut out: Flushed = Vec::new();
        let mut flush = |p: &mut Pending, s: &LineState| {
            out.push((
                p.first_line,
                std::mem::take(&mut p.data),
                std::mem::take(&mut p.oversized),
                s.consumed,
                s.skipping,
            ));
        };
        for c in chunks {
            feed(&mut st, c, max_line, max_batch, &mut pending, &mut flush);
        }
        if !pending.data.is_empty() {
            flush(&mut pending, &st);
        }
        (out, st)
    }

    #[test]
    fn partial_line_is_carried_not_delivered() {
        let (out, st) = run(&[b"a\nbc", b"d\ne"], 100, 1 << 20);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1, b"a\nbcd\n");
        assert_eq!(out[0].0, 1);
        assert_eq!(out[0].3, 6, "checkpoint stops before the partial line");
        assert_eq!(st.carry, b"e");
        assert_eq!(st.read_pos(), 7);
        assert_eq!(st.line, 2);
    }

    #[test]
    fn oversized_line_is_cut_and_rest_skipped_across_chunks() {
        let (out, st) = run(&[b"ok\n0123", b"456789", b"abc\nnext\n"], 5, 1 << 20);
        let data: Vec<u8> = out.iter().flat_map(|o| o.1.clone()).collect();
        assert_eq!(data, b"ok\n01234\nnext\n");
        let over: Vec<u64> = out.iter().flat_map(|o| o.2.clone()).collect();
        assert_eq!(over, vec![2]);
        assert_eq!(st.line, 3);
        assert_eq!(st.consumed, 3 + 14 + 5);
        assert!(st.carry.is_empty() && !st.skipping);
    }

    #[test]
    fn complete_long_line_in_one_chunk_is_cut() {
        let (out, _) = run(&[b"0123456789\nx\n"], 4, 1 << 20);
        assert_eq!(out[0].1, b"0123\nx\n");
        assert_eq!(out[0].2, vec![1]);
    }

    #[test]
    fn batches_split_at_line_boundaries_with_matching_checkpoints() {
        let (out, _) = run(&[b"aa\nbb\ncc\ndd\n"], 100, 5);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].0, out[0].1.as_slice(), out[0].3),
            (1, &b"aa\nbb\n"[..], 6)
        );
        assert_eq!(
            (out[1].0, out[1].1.as_slice(), out[1].3),
            (3, &b"cc\ndd\n"[..], 12)
        );
    }

    #[test]
    fn checkpoint_while_skipping_says_so() {
        let (out, st) = run(&[b"0123456789"], 4, 1);
        assert_eq!(out[0].1, b"0123\n");
        assert!(out[0].4, "flushed in the middle of an oversized line");
        assert_eq!(st.consumed, 10);
    }

    #[test]
    fn finish_delivers_the_last_partial_line() {
        let mut st = LineState::default();
        let mut p = Pending::default();
        feed(&mut st, b"a\nb", 10, 100, &mut p, &mut |_, _| {});
        finish(&mut st, &mut p);
        assert_eq!(p.data, b"a\nb\n");
        assert_eq!(st.consumed, 3);
        assert_eq!(st.line, 2);
    }
}
