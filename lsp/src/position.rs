//! Positions: byte offsets into a file's text (what the compiler speaks) and LSP positions
//! (zero-based line and a column counted in UTF-16 code units, what editors speak), both ways.
//!
//! Conversions clamp instead of failing: a position past the end of a line lands at the end
//! of that line, a line past the end of the text at the end of the text, so a client that is a
//! keystroke ahead never makes a request fail. This module knows nothing of the checker.

use lsp_types::{Position, Range};
use ward_syntax::Span;

/// The start of every line of one text, for fast conversions.
#[derive(Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the first character of each line; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, line_starts }
    }

    /// The LSP position of byte `offset` (clamped to the text, moved back to a character
    /// boundary).
    pub fn position(&self, offset: u32) -> Position {
        let mut offset = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(character))
    }

    /// The byte offset of an LSP position (clamped to its line and to the text).
    pub fn offset(&self, position: Position) -> u32 {
        let Some(&start) = self.line_starts.get(position.line as usize) else {
            return to_u32(self.text.len());
        };
        let end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = self.text[start..end]
            .strip_suffix('\r')
            .unwrap_or(&self.text[start..end]);
        let mut units = 0;
        for (i, c) in line.char_indices() {
            // Also when the position falls inside a surrogate pair: the start of the character.
            if units + c.len_utf16() > position.character as usize {
                return to_u32(start + i);
            }
            units += c.len_utf16();
        }
        to_u32(start + line.len())
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The range of the whole text.
    pub fn full_range(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(to_u32(self.text.len())))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    // `é` is 2 bytes and 1 UTF-16 unit; `𝔸` is 4 bytes and 2 UTF-16 units (a surrogate pair).
    const TEXT: &str = "ab\n\"é𝔸\" x\r\nlast";

    #[test]
    fn offsets_map_to_utf16_positions_and_back() {
        let index = LineIndex::new(TEXT);
        // (byte offset, line, UTF-16 column)
        let cases = [
            (0, 0, 0),
            (2, 0, 2),
            (3, 1, 0),
            (4, 1, 1),  // after `"`
            (6, 1, 2),  // after `é`
            (10, 1, 4), // after `𝔸`
            (11, 1, 5), // after the closing `"`
            (13, 1, 7), // after `x`, before `\r`
            (15, 2, 0),
            (19, 2, 4),
        ];
        for (offset, line, character) in cases {
            let position = Position::new(line, character);
            assert_eq!(index.position(offset), position, "offset {offset}");
            assert_eq!(index.offset(position), offset, "position {position:?}");
        }
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let index = LineIndex::new(TEXT);
        // Past the end of a line: the end of that line (before `\r\n`).
        assert_eq!(index.offset(Position::new(1, 99)), 13);
        assert_eq!(index.offset(Position::new(0, 99)), 2);
        // Past the last line: the end of the text.
        assert_eq!(index.offset(Position::new(9, 0)), 19);
        // Inside a surrogate pair: the start of the character.
        assert_eq!(index.offset(Position::new(1, 3)), 6);
        // Inside a UTF-8 sequence or past the end.
        assert_eq!(index.position(5), Position::new(1, 1));
        assert_eq!(index.position(99), Position::new(2, 4));
        assert_eq!(
            index.full_range(),
            Range::new(Position::new(0, 0), Position::new(2, 4))
        );
    }
}
