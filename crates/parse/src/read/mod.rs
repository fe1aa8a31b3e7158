//! From command-line arguments to bounded chunks of lines.
//!
//! 1. [`expand_inputs`] turns arguments (files, directories, glob patterns,
//!    `-` for stdin) into [`InputSpec`]s, rotated sets oldest first and
//!    duplicates removed.
//! 2. [`open_input`] opens one as an [`Opened`] stream, decompressing gzip and
//!    zstd (recognised by magic bytes) as it is read, with a progress counter
//!    of on-disk bytes.
//! 3. [`LineChunker::fill`] cuts the stream into [`Chunk`]s of whole lines of
//!    about `chunk_size` bytes, numbered, with lines longer than `max_line`
//!    skipped in bounded memory (empty in the chunk, listed in
//!    [`Chunk::oversized`]).
//!
//! Memory per open input is bounded whatever the input: the chunks in
//! flight (each about `max(chunk_size, max_line + 1)` bytes), one partial
//! line carried between chunks, a 256 KiB buffer under a decompressor, and the
//! decompressor's window (32 KiB for gzip; for zstd the window the file
//! declares, refused above 100 MiB; `zstd` writes 8 MiB or less by default).
//! Nothing is memory-mapped or read whole.
//!
//! A pipeline reuses its chunks: `secmo analyze`'s workers each refill their
//! own (taking turns at the chunker), parse [`Chunk::lines`] and refill it
//! again, so steady state allocates nothing.
//!
//! ```no_run
//! use secmo_parse::read::{Chunk, LineChunker, expand_inputs, open_input};
//! # fn main() -> Result<(), secmo_parse::read::ReadError> {
//! for spec in expand_inputs(&["/var/log/nginx/access.log*".to_string()])? {
//!     let opened = open_input(&spec)?;
//!     let mut chunker = LineChunker::new(opened.reader, 1 << 20, 1 << 20).with_name(&spec.name);
//!     let mut chunk = Chunk::new();
//!     while chunker.fill(&mut chunk)? {
//!         for (number, line) in chunk.lines() {
//!             let _ = (number, line);
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod chunk;
mod inputs;
mod open;

use std::io;

pub use chunk::{Chunk, LineChunker, Lines, OversizedLine};
pub use inputs::{InputSource, InputSpec, expand_inputs};
pub use open::{Compression, Opened, open_input, open_reader};

/// Why an input could not be found, opened or read. Messages name the input.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such file or directory: {}", paths.join(", "))]
    NotFound { paths: Vec<String> },
    #[error("no files match {pattern}")]
    NoMatch { pattern: String },
    #[error("bad glob pattern {pattern}: {reason}")]
    BadPattern {
        pattern: String,
        reason: &'static str,
    },
    #[error("directory {path} holds no files to read")]
    EmptyDirectory { path: String },
    #[error("{name} is a directory")]
    IsDirectory { name: String },
    #[error("cannot open {name}: {error}")]
    Open { name: String, error: io::Error },
    /// `lines` and `bytes` (decoded) were delivered before the failure.
    #[error("{name}: read failed after {lines} lines ({bytes} bytes): {error}")]
    Read {
        name: String,
        lines: u64,
        bytes: u64,
        error: io::Error,
    },
}
