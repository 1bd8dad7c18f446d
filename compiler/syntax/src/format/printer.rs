//! The line writer under the formatter: indentation, blank lines and comments.
//!
//! The formatter hands it one output line at a time, each with the source span it prints.
//! Before a line is written, every comment that starts before the end of that span and has not
//! been written yet is written first: on the end of the previous line when it sat on the same
//! source line as the end of what that line printed (a trailing comment), otherwise on a line
//! of its own (a leading comment; comments from inside a construct move before it). A blank
//! line is kept wherever the source had one or more between two written things, except right
//! after a `{` and right before a `}`. This module knows nothing of the AST's shape.

use crate::Span;
use crate::ast::Comment;

/// Two spaces of indentation per level.
const INDENT: &str = "  ";

pub(super) struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// The next comment to write.
    next: usize,
    out: String,
    indent: usize,
    /// The source offset just after the last construct or comment written.
    prev_end: usize,
    /// The last line written is code that may still take a trailing comment.
    trailing_ok: bool,
    /// The next line is the first of a block: no blank line before it.
    block_start: bool,
    /// Physical lines of code written so far (comments and blank lines not counted).
    code_lines: usize,
    /// Where the doc comments (`///`) written last, with nothing after them yet, begin in the
    /// output: comments from inside the next construct go before them, not between them and
    /// the construct they document.
    doc_run: Option<usize>,
}

impl<'a> Printer<'a> {
    pub(super) fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next: 0,
            out: String::with_capacity(src.len() + src.len() / 8),
            indent: 0,
            prev_end: 0,
            trailing_ok: false,
            block_start: true,
            code_lines: 0,
            doc_run: None,
        }
    }

    /// Write a line of code (continuation lines after `\n` get the same indentation, plus
    /// whatever spaces they start with). `span` is the source it prints.
    pub(super) fn line(&mut self, text: &str, span: Span) {
        self.write_code(text, span, true);
    }

    /// Open a block: the lines after this are indented one level more.
    pub(super) fn open(&mut self) {
        self.indent += 1;
        self.block_start = true;
    }

    /// End an indentation opened by [`Printer::open`] without writing a `}`.
    pub(super) fn dedent(&mut self) {
        self.indent = self.indent.saturating_sub(1);
        self.block_start = false;
    }

    /// Close a block whose `}` is at source offset `close`: comments before it stay inside the
    /// block, then `}` + `suffix` is written one level less indented.
    pub(super) fn close(&mut self, close: usize, suffix: &str, suffix_span: Option<Span>) {
        self.comments_before(close);
        self.indent = self.indent.saturating_sub(1);
        self.block_start = false;
        let end = suffix_span.map_or(close + 1, |s| s.end as usize);
        self.write_code(
            &format!("}}{suffix}"),
            Span::new(close, end.max(close + 1)),
            false,
        );
    }

    /// Write the comment that ends the current source line, if any, on the last line written.
    pub(super) fn flush_trailing(&mut self) {
        if let Some(c) = self.comments.get(self.next)
            && self.is_trailing(c)
        {
            self.next += 1;
            self.append_trailing(c);
        }
    }

    /// Where the next line will start in the output.
    pub(super) fn mark(&self) -> usize {
        self.out.len()
    }

    pub(super) fn code_lines(&self) -> usize {
        self.code_lines
    }

    /// Make sure a blank line separates what was written before `mark` from what follows.
    pub(super) fn ensure_blank_at(&mut self, mark: usize) {
        if mark == 0 || mark > self.out.len() {
            return;
        }
        let before = &self.out[..mark];
        if before.ends_with("\n\n") || self.out[mark..].starts_with('\n') {
            return;
        }
        self.out.insert(mark, '\n');
    }

    /// Write the remaining comments and return the text.
    pub(super) fn finish(mut self) -> String {
        self.indent = 0;
        self.comments_before(usize::MAX);
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
        self.out
    }

    fn write_code(&mut self, text: &str, span: Span, blank_allowed: bool) {
        self.comments_before(span.start as usize);
        self.comments_inside(span.end as usize);
        let blank = blank_allowed && self.blank_between(self.prev_end, span.start as usize);
        self.push_lines(text, blank);
        self.code_lines += text.lines().count();
        self.prev_end = self.prev_end.max(span.end as usize);
        self.trailing_ok = true;
    }

    /// Write every comment starting before `pos`.
    fn comments_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.span.start as usize >= pos {
                break;
            }
            self.next += 1;
            if self.is_trailing(c) {
                self.append_trailing(c);
            } else {
                let blank = self.blank_between(self.prev_end, c.span.start as usize);
                let text = self.comment_text(c).to_owned();
                let doc_run = self.doc_run;
                self.push_lines(&text, blank);
                self.trailing_ok = false;
                if c.doc {
                    let start = self.out.len() - text.len() - 1 - self.indent * INDENT.len();
                    self.doc_run = doc_run.or(Some(start));
                }
            }
            self.prev_end = self.prev_end.max(c.span.end as usize);
        }
    }

    /// Write the comments starting before `end`, from inside the construct about to be
    /// written: before the doc comments that precede it, if any.
    fn comments_inside(&mut self, end: usize) {
        let Some(at) = self.doc_run else {
            self.comments_before(end);
            return;
        };
        let mut text = String::new();
        while let Some(c) = self.comments.get(self.next) {
            if c.span.start as usize >= end {
                break;
            }
            self.next += 1;
            for _ in 0..self.indent {
                text.push_str(INDENT);
            }
            text.push_str(self.comment_text(c));
            text.push('\n');
            self.prev_end = self.prev_end.max(c.span.end as usize);
        }
        self.out.insert_str(at, &text);
        self.doc_run = Some(at + text.len());
    }

    /// `c` sits on the source line where the last written construct ended.
    fn is_trailing(&self, c: &Comment) -> bool {
        let start = c.span.start as usize;
        self.trailing_ok
            && start >= self.prev_end
            && self
                .src
                .get(self.prev_end..start)
                .is_some_and(|gap| !gap.contains('\n'))
    }

    fn append_trailing(&mut self, c: &Comment) {
        let text = self.comment_text(c).to_owned();
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out.push_str("  ");
        self.out.push_str(&text);
        self.out.push('\n');
        self.trailing_ok = false;
        self.prev_end = self.prev_end.max(c.span.end as usize);
    }

    /// The comment as written, without trailing white space.
    fn comment_text(&self, c: &Comment) -> &'a str {
        self.src.get(c.span.range()).unwrap_or("//").trim_end()
    }

    fn push_lines(&mut self, text: &str, blank: bool) {
        self.doc_run = None;
        if blank && !self.block_start && !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        for line in text.split('\n') {
            if !line.is_empty() {
                for _ in 0..self.indent {
                    self.out.push_str(INDENT);
                }
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        self.block_start = false;
    }

    /// The source between `from` and `to` holds an empty line.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let Some(gap) = self.src.get(from..to) else {
            return false;
        };
        let mut lines = gap.split('\n');
        lines.next();
        let mut middle: Vec<&str> = lines.collect();
        middle.pop();
        middle.iter().any(|l| l.trim().is_empty())
    }

    /// The indentation width of the current level, in columns.
    pub(super) fn indent_width(&self) -> usize {
        self.indent * INDENT.len()
    }

    /// The source text.
    pub(super) fn src(&self) -> &'a str {
        self.src
    }

    /// Some comment starts inside `span`.
    pub(super) fn has_comment_in(&self, span: Span) -> bool {
        let from = self.comments.partition_point(|c| c.span.start < span.start);
        self.comments
            .get(from)
            .is_some_and(|c| c.span.start < span.end)
    }
}
