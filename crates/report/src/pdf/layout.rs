//! A small flow layout on top of pdf-writer: a cursor that moves down the
//! page, wraps text by the fonts' glyph widths, breaks pages when the next
//! block does not fit, and draws tables and filled rectangles. Pages are kept
//! as content streams until the end so that "page n of N" can be stamped.

use super::encode;
use super::metrics::{HELVETICA, HELVETICA_BOLD};
use pdf_writer::{Content, Name, Str};

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN: f32 = 48.0;
/// Lowest baseline of body text; the page number sits below it.
pub const BOTTOM: f32 = 56.0;
pub const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    pub fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
            Font::Mono => Name(b"F3"),
        }
    }

    /// Width in points of already-encoded text at `size`.
    pub fn width(self, bytes: &[u8], size: f32) -> f32 {
        let units: u32 = match self {
            // Courier: every glyph is 600 units.
            Font::Mono => 600 * bytes.len() as u32,
            Font::Regular => bytes
                .iter()
                .map(|&b| u32::from(HELVETICA[b as usize]))
                .sum(),
            Font::Bold => bytes
                .iter()
                .map(|&b| u32::from(HELVETICA_BOLD[b as usize]))
                .sum(),
        };
        units as f32 * size / 1000.0
    }
}

pub type Rgb = [u8; 3];

pub const BLACK: Rgb = [0x11, 0x18, 0x27];
pub const MUTED: Rgb = [0x6b, 0x72, 0x80];
pub const RULE: Rgb = [0xe5, 0xe7, 0xeb];
pub const WHITE: Rgb = [0xff, 0xff, 0xff];

fn rgb(c: Rgb) -> (f32, f32, f32) {
    (
        f32::from(c[0]) / 255.0,
        f32::from(c[1]) / 255.0,
        f32::from(c[2]) / 255.0,
    )
}

/// Text wrapped into lines that each fit `width` points (encoded bytes).
/// Breaks at spaces; a word wider than the line is cut by characters.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<Vec<u8>> {
    let bytes = encode(text);
    let space = font.width(b" ", size);
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut line_w = 0.0;
    for word in bytes.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut word = word;
        loop {
            let ww = font.width(word, size);
            let need = if line.is_empty() { ww } else { ww + space };
            if line_w + need <= width {
                if !line.is_empty() {
                    line.push(b' ');
                }
                line.extend_from_slice(word);
                line_w += need;
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
                continue;
            }
            // A word wider than the whole line: as many bytes as fit.
            let mut n = 0;
            let mut w = 0.0;
            while n < word.len() {
                let cw = font.width(&word[n..n + 1], size);
                if w + cw > width && n > 0 {
                    break;
                }
                w += cw;
                n += 1;
            }
            lines.push(word[..n].to_vec());
            word = &word[n..];
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Cut encoded text to fit `width`, ending in `…` when cut.
pub fn fit(text: &str, font: Font, size: f32, width: f32) -> Vec<u8> {
    let bytes = encode(text);
    if font.width(&bytes, size) <= width {
        return bytes;
    }
    const ELLIPSIS: u8 = 0x85;
    let room = width - font.width(&[ELLIPSIS], size);
    let mut w = 0.0;
    let mut out = Vec::with_capacity(bytes.len());
    for &b in &bytes {
        let cw = font.width(&[b], size);
        if w + cw > room {
            break;
        }
        w += cw;
        out.push(b);
    }
    out.push(ELLIPSIS);
    out
}

/// One table column: width in points and alignment.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub width: f32,
    pub right: bool,
    pub font: Font,
}

pub struct Writer {
    pages: Vec<Content>,
    /// Baseline position of the next line, from the bottom of the page.
    pub y: f32,
}

impl Writer {
    pub fn new() -> Self {
        let mut w = Writer {
            pages: Vec::new(),
            y: 0.0,
        };
        w.new_page();
        w
    }

    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Start a new page unless `height` points still fit above the bottom.
    /// Returns whether a page was started.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    pub fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    /// A filled rectangle; `y` is its bottom edge.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let (r, g, b) = rgb(color);
        let c = self.page();
        c.set_fill_rgb(r, g, b);
        c.rect(x, y, w, h);
        c.fill_nonzero();
    }

    /// Encoded text with its baseline at (`x`, `y`).
    pub fn text_at(&mut self, x: f32, y: f32, font: Font, size: f32, color: Rgb, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (r, g, b) = rgb(color);
        let c = self.page();
        c.set_fill_rgb(r, g, b);
        c.begin_text();
        c.set_font(font.name(), size);
        c.next_line(x, y);
        c.show(Str(bytes));
        c.end_text();
    }

    /// A wrapped paragraph at `x`, `width` wide; moves the cursor below it.
    pub fn para(&mut self, text: &str, x: f32, width: f32, font: Font, size: f32, color: Rgb) {
        let leading = size * 1.35;
        for line in wrap(text, font, size, width) {
            self.ensure(leading);
            self.y -= size;
            let y = self.y;
            self.text_at(x, y, font, size, color, &line);
            self.y -= leading - size;
        }
    }

    /// A section heading with a rule under it, kept with what follows.
    pub fn heading(&mut self, text: &str, size: f32) {
        self.gap(size * 0.8);
        self.ensure(size * 2.0 + 40.0);
        self.y -= size;
        let y = self.y;
        let line = fit(text, Font::Bold, size, CONTENT_W);
        self.text_at(MARGIN, y, Font::Bold, size, BLACK, &line);
        self.y -= 5.0;
        let y = self.y;
        self.rect(MARGIN, y, CONTENT_W, 1.0, RULE);
        self.y -= 6.0;
    }

    /// A table: header row in bold, rows of single-line cells cut to fit, a
    /// rule under each row; the header repeats after a page break.
    pub fn table(
        &mut self,
        x: f32,
        cols: &[Col],
        header: &[String],
        rows: &[Vec<String>],
        size: f32,
    ) {
        let row_h = size * 1.7;
        self.ensure(row_h * 2.0);
        self.table_row(x, cols, header, size, true);
        for r in rows {
            if self.ensure(row_h) {
                self.table_row(x, cols, header, size, true);
            }
            self.table_row(x, cols, r, size, false);
        }
        self.gap(4.0);
    }

    fn table_row(&mut self, x: f32, cols: &[Col], cells: &[String], size: f32, header: bool) {
        let row_h = size * 1.7;
        let base = self.y - size * 1.2;
        let mut cx = x;
        for (col, cell) in cols.iter().zip(cells) {
            let font = if header { Font::Bold } else { col.font };
            let color = if header { MUTED } else { BLACK };
            let pad = 3.0;
            let bytes = fit(cell, font, size, col.width - 2.0 * pad);
            let tx = if col.right {
                cx + col.width - pad - font.width(&bytes, size)
            } else {
                cx + pad
            };
            self.text_at(tx, base, font, size, color, &bytes);
            cx += col.width;
        }
        self.y -= row_h;
        let total: f32 = cols.iter().map(|c| c.width).sum();
        let y = self.y + 1.0;
        self.rect(x, y, total, if header { 1.2 } else { 0.5 }, RULE);
    }

    /// The pages' content streams, after `stamp` has drawn on each (page
    /// numbers), given the 1-based page number and the count.
    pub fn finish(mut self, mut stamp: impl FnMut(&mut Content, usize, usize)) -> Vec<Vec<u8>> {
        let n = self.pages.len();
        self.pages
            .drain(..)
            .enumerate()
            .map(|(i, mut c)| {
                stamp(&mut c, i + 1, n);
                c.finish().to_vec()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_wrapping() {
        // "Hello" in Helvetica: H 722 + e 556 + l 222 + l 222 + o 556 = 2278.
        assert!((Font::Regular.width(b"Hello", 10.0) - 22.78).abs() < 0.001);
        assert!((Font::Mono.width(b"abc", 10.0) - 18.0).abs() < 0.001);
        assert!(Font::Bold.width(b"Hello", 10.0) > Font::Regular.width(b"Hello", 10.0));
        let lines = wrap("aaa bbb ccc", Font::Mono, 10.0, 42.0);
        assert_eq!(lines, vec![b"aaa bbb".to_vec(), b"ccc".to_vec()]);
        let long = wrap(&"x".repeat(50), Font::Mono, 10.0, 60.0);
        assert_eq!(long.len(), 5);
        assert!(long.iter().all(|l| l.len() == 10));
        assert_eq!(wrap("", Font::Regular, 10.0, 100.0), vec![Vec::<u8>::new()]);
        let f = fit(&"x".repeat(50), Font::Mono, 10.0, 60.0);
        assert_eq!(f.len(), 10);
        assert_eq!(f.last(), Some(&0x85));
        assert_eq!(fit("short", Font::Mono, 10.0, 60.0), b"short".to_vec());
    }
}
