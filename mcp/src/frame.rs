//! Newline-delimited framing, as the MCP stdio transport defines it: one JSON-RPC message per
//! line. [`LineReader`] holds at most `max` bytes of a line: a longer line is reported by its
//! length and skipped to its end without being kept, so no peer can make the guard hold more
//! than the limit.
//!
//! This module knows bytes and line breaks; it does not know JSON.

use std::io::{self, BufRead};

/// What the next read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` (a `\r` before it is kept: it is JSON white space).
    Line(Vec<u8>),
    /// A line longer than the limit, skipped; `bytes` is how long it was (without the `\n`).
    /// `ended` is false when the input ended inside it.
    TooLong { bytes: u64, ended: bool },
    /// The input ended. Bytes after the last `\n` come first as a [`Frame::Line`].
    Eof,
}

/// Reads lines of at most `max` bytes from `inner`.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            max: max.max(1),
            buf: Vec::new(),
        }
    }

    /// The next line. `on_too_long` is called as soon as a line passes the limit (before the
    /// rest of it has arrived), so that the peer can be told while it is still writing.
    pub fn next_frame(&mut self, mut on_too_long: impl FnMut()) -> io::Result<Frame> {
        self.buf.clear();
        let mut skipped: Option<u64> = None;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(match skipped {
                    Some(bytes) => Frame::TooLong {
                        bytes,
                        ended: false,
                    },
                    None if self.buf.is_empty() => Frame::Eof,
                    None => Frame::Line(std::mem::take(&mut self.buf)),
                });
            }
            let (part, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (chunk.len(), false),
            };
            match &mut skipped {
                Some(bytes) => *bytes += part as u64,
                None if self.buf.len() + part > self.max => {
                    skipped = Some((self.buf.len() + part) as u64);
                    self.buf = Vec::new();
                    on_too_long();
                }
                None => self
                    .buf
                    .extend_from_slice(chunk.get(..part).unwrap_or_default()),
            }
            self.inner.consume(if found { part + 1 } else { part });
            if found {
                return Ok(match skipped {
                    Some(bytes) => Frame::TooLong { bytes, ended: true },
                    None => Frame::Line(std::mem::take(&mut self.buf)),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize, cap: usize) -> Vec<Frame> {
        let reader = io::BufReader::with_capacity(cap, input);
        let mut lines = LineReader::new(reader, max);
        let mut out = Vec::new();
        loop {
            let frame = lines.next_frame(|| {}).unwrap();
            let end = frame == Frame::Eof;
            out.push(frame);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn lines_long_lines_and_the_end() {
        for cap in [1, 3, 64] {
            assert_eq!(
                frames(b"ab\n\ncdefgh\nxyz\nlast", 4, cap),
                [
                    Frame::Line(b"ab".to_vec()),
                    Frame::Line(Vec::new()),
                    Frame::TooLong {
                        bytes: 6,
                        ended: true
                    },
                    Frame::Line(b"xyz".to_vec()),
                    Frame::Line(b"last".to_vec()),
                    Frame::Eof,
                ],
                "buffer of {cap}"
            );
            assert_eq!(
                frames(b"abcdefgh", 4, cap),
                [
                    Frame::TooLong {
                        bytes: 8,
                        ended: false
                    },
                    Frame::Eof
                ]
            );
        }
    }

    #[test]
    fn the_limit_is_inclusive_and_the_callback_comes_before_the_end_of_the_line() {
        assert_eq!(
            frames(b"abcd\n", 4, 2),
            [Frame::Line(b"abcd".to_vec()), Frame::Eof]
        );
        let mut calls = 0;
        let mut lines = LineReader::new(io::BufReader::with_capacity(2, &b"abcdefgh\n"[..]), 4);
        let frame = lines.next_frame(|| calls += 1).unwrap();
        assert_eq!(
            frame,
            Frame::TooLong {
                bytes: 8,
                ended: true
            }
        );
        assert_eq!(calls, 1);
    }
}
