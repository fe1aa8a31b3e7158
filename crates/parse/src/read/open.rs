//! Opening an input as a byte stream, decompressing gzip and zstd on the fly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use flate2::bufread::MultiGzDecoder;
use ruzstd::decoding::FrameDecoder;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

use super::{InputSource, InputSpec, ReadError};

/// Buffer between a compressed file and its decoder.
const COMPRESSED_BUFFER: usize = 256 * 1024;

/// How an input is compressed, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// An opened input: its decoded bytes, and how far through the file we are.
pub struct Opened {
    /// The decoded (decompressed) bytes.
    pub reader: Box<dyn Read + Send>,
    pub compressed: Compression,
    /// Size on disk, for regular files.
    pub size: Option<u64>,
    /// On-disk bytes consumed so far; compare with `size` for progress.
    pub progress: Arc<AtomicU64>,
    /// Last modification time, milliseconds since the Unix epoch.
    pub modified_ms: Option<i64>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("compressed", &self.compressed)
            .field("size", &self.size)
            .field("progress", &self.progress)
            .field("modified_ms", &self.modified_ms)
            .finish_non_exhaustive()
    }
}

/// Open an input. Gzip (multi-member too) and zstd (multi-frame too) are
/// recognised by their magic bytes, whatever the file is called, and
/// decompressed as the stream is read: memory stays bounded.
pub fn open_input(spec: &InputSpec) -> Result<Opened, ReadError> {
    match &spec.source {
        InputSource::Stdin => wrap(io::stdin(), &spec.name, None, None),
        InputSource::File(path) => {
            let open_error = |error| ReadError::Open {
                name: spec.name.clone(),
                error,
            };
            let file = File::open(path).map_err(open_error)?;
            let meta = file.metadata().map_err(open_error)?;
            if meta.is_dir() {
                return Err(ReadError::IsDirectory {
                    name: spec.name.clone(),
                });
            }
            let size = meta.is_file().then_some(meta.len());
            let modified_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok());
            wrap(file, &spec.name, size, modified_ms)
        }
    }
}

/// Decode any `Read` the way [`open_input`] does (for tests and embedders).
pub fn open_reader<R: Read + Send + 'static>(reader: R, name: &str) -> Result<Opened, ReadError> {
    wrap(reader, name, None, None)
}

fn wrap<R: Read + Send + 'static>(
    raw: R,
    name: &str,
    size: Option<u64>,
    modified_ms: Option<i64>,
) -> Result<Opened, ReadError> {
    let progress = Arc::new(AtomicU64::new(0));
    let mut counted = Counted {
        inner: raw,
        progress: Arc::clone(&progress),
    };
    let mut head = [0u8; 4];
    let head_len = read_head(&mut counted, &mut head).map_err(|error| ReadError::Open {
        name: name.to_owned(),
        error,
    })?;
    let compressed = detect(&head[..head_len]);
    let stream = Prefixed {
        head,
        pos: 0,
        len: head_len,
        inner: counted,
    };
    let reader: Box<dyn Read + Send> = match compressed {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(Labelled {
            inner: MultiGzDecoder::new(BufReader::with_capacity(COMPRESSED_BUFFER, stream)),
            what: "gzip",
        }),
        Compression::Zstd => Box::new(Labelled {
            inner: ZstdReader::new(BufReader::with_capacity(COMPRESSED_BUFFER, stream)),
            what: "zstd",
        }),
    };
    Ok(Opened {
        reader,
        compressed,
        size,
        progress,
        modified_ms,
    })
}

fn detect(head: &[u8]) -> Compression {
    const ZSTD_MAGIC: u32 = 0xFD2F_B528;
    const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Compression::Gzip;
    }
    if let Ok(bytes) = <[u8; 4]>::try_from(head) {
        let magic = u32::from_le_bytes(bytes);
        if magic == ZSTD_MAGIC || magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC {
            return Compression::Zstd;
        }
    }
    Compression::None
}

/// Read up to `head.len()` bytes, fewer only at end of input.
fn read_head(reader: &mut impl Read, head: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < head.len() {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Counts the bytes taken from the underlying file.
struct Counted<R> {
    inner: R,
    progress: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Puts the sniffed magic bytes back in front of the stream (stdin cannot seek).
struct Prefixed<R> {
    head: [u8; 4],
    pos: usize,
    len: usize,
    inner: R,
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.len {
            let rest = self.head.get(self.pos..self.len).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// Says which decoder an error came from.
struct Labelled<R> {
    inner: R,
    what: &'static str,
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            let what = self.what;
            match kind {
                io::ErrorKind::InvalidData
                | io::ErrorKind::InvalidInput
                | io::ErrorKind::UnexpectedEof => {
                    io::Error::new(kind, format!("corrupt or truncated {what} data: {e}"))
                }
                _ => io::Error::new(kind, format!("{what}: {e}")),
            }
        })
    }
}

/// A smallest valid zstd frame (single segment, empty). Decoding it first
/// makes every real frame go through `FrameDecoder::reset`, which enforces
/// the decoder's window-size limit (the first `init` does not), so a hostile
/// header cannot make the window, and memory, unbounded.
const EMPTY_ZSTD_FRAME: [u8; 9] = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x00, 0x01, 0x00, 0x00];

/// Decodes every frame of a zstd stream (concatenated files are common),
/// skipping skippable frames. ruzstd's `StreamingDecoder` stops after one.
struct ZstdReader<R> {
    source: R,
    decoder: FrameDecoder,
    primed: bool,
    in_frame: bool,
}

impl<R: BufRead> ZstdReader<R> {
    fn new(source: R) -> Self {
        ZstdReader {
            source,
            decoder: FrameDecoder::new(),
            primed: false,
            in_frame: false,
        }
    }

    /// Start the next frame. `Ok(false)` at the clean end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        if !self.primed {
            self.decoder
                .init(&EMPTY_ZSTD_FRAME[..])
                .map_err(io::Error::other)?;
            self.primed = true;
        }
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let skipped = io::copy(&mut (&mut self.source).take(want), &mut io::sink())?;
                    if skipped < want {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "truncated skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let wanted = buf.len() - self.decoder.can_collect();
                self.decoder
                    .decode_blocks(
                        &mut self.source,
                        ruzstd::decoding::BlockDecodingStrategy::UptoBytes(wanted),
                    )
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if !self.decoder.is_finished() {
                // Guards against a decoder that neither yields nor ends.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "zstd decoder made no progress",
                ));
            }
            // ruzstd computes the checksum but leaves checking it to us.
            if let Some(stored) = self.decoder.get_checksum_from_data()
                && self.decoder.get_calculated_checksum() != Some(stored)
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "zstd frame checksum mismatch",
                ));
            }
            self.in_frame = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe that hands out one byte per read.
    struct Dribble(io::Cursor<Vec<u8>>);

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    fn decode(bytes: Vec<u8>) -> (Compression, io::Result<Vec<u8>>) {
        let mut opened = open_reader(Dribble(io::Cursor::new(bytes)), "pipe").unwrap();
        let mut out = Vec::new();
        let result = opened.reader.read_to_end(&mut out).map(|_| out);
        (opened.compressed, result)
    }

    #[test]
    fn inputs_shorter_than_a_magic_number_pass_through() {
        for input in [&b""[..], b"a", b"\x1f", b"ab\n", b"\x28\xb5\x2f"] {
            let (compressed, out) = decode(input.to_vec());
            assert_eq!(compressed, Compression::None);
            assert_eq!(out.unwrap(), input);
        }
    }

    #[test]
    fn gzip_on_a_slow_pipe_is_detected_and_counted() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut encoder, b"one\ntwo\n").unwrap();
        let bytes = encoder.finish().unwrap();
        let on_disk = bytes.len() as u64;
        let mut opened = open_reader(Dribble(io::Cursor::new(bytes)), "pipe").unwrap();
        assert_eq!(opened.compressed, Compression::Gzip);
        assert_eq!(opened.size, None);
        let mut out = Vec::new();
        opened.reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"one\ntwo\n");
        assert_eq!(opened.progress.load(Ordering::Relaxed), on_disk);
    }

    #[test]
    fn zstd_magic_with_garbage_is_an_error() {
        let (compressed, out) = decode(b"\x28\xb5\x2f\xfd\xff\xff\xff\xff\xff".to_vec());
        assert_eq!(compressed, Compression::Zstd);
        let error = out.unwrap_err().to_string();
        assert!(error.contains("zstd"), "{error}");
    }

    #[test]
    fn trailing_garbage_after_zstd_frame_is_an_error() {
        let mut bytes = ruzstd::encoding::compress_to_vec(
            &b"x\n"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        bytes.extend_from_slice(b"junk");
        let (_, out) = decode(bytes);
        assert!(out.is_err());
    }
}
