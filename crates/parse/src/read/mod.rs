//! STUB: inputs, decompression, rotated sets, line chunking. To be written.
