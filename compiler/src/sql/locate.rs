//! Map positions in a tool's SQL text (line/column, as sqlparser and DataFusion report them)
//! to byte spans in the YAML file, so SQL errors point at the exact place in the spec.

use crate::decode::content_offset;
use crate::source::{SourceFile, Span};
use crate::yaml::{Node, Style};

/// How a `sql:` scalar's text lies in its file.
#[derive(Debug, Clone)]
pub struct SqlLocator {
    file_span: Span,
    layout: Layout,
}

#[derive(Debug, Clone)]
enum Layout {
    /// A literal block (`|`): SQL line `i` is file line `first_line + i - 1`, shifted by `indent` columns.
    Block { first_line: usize, indent: usize },
    /// A one-line scalar whose text starts at this byte offset.
    Inline { offset: usize },
    /// Anything else: point at the whole value.
    Whole,
}

impl SqlLocator {
    pub fn new(node_span: &Span, text: &str, style: Style, file: &SourceFile) -> Self {
        let layout = match style {
            Style::Literal | Style::Folded => {
                // the event span starts at the `|`/`>` header or at the content itself
                let (start_line, _) = file.line_col(node_span.range.start);
                let at = file.text.get(node_span.range.start..).unwrap_or("");
                let first_line = if at.starts_with(['|', '>']) {
                    start_line + 1
                } else {
                    start_line
                };
                // the indentation of the first non-empty content line
                let mut indent = 0;
                let mut line = first_line;
                loop {
                    let start = file.offset(line, 1);
                    if start >= file.text.len() {
                        break;
                    }
                    let rest = &file.text[start..];
                    let l = rest.split('\n').next().unwrap_or("");
                    if !l.trim().is_empty() {
                        indent = l.len() - l.trim_start_matches(' ').len();
                        break;
                    }
                    line += 1;
                }
                if style == Style::Literal {
                    Layout::Block { first_line, indent }
                } else {
                    Layout::Whole
                }
            }
            _ => {
                let node = Node {
                    kind: crate::yaml::NodeKind::Null,
                    span: node_span.clone(),
                };
                match content_offset(&node, text, style) {
                    Some(offset) if !text.contains('\n') => Layout::Inline { offset },
                    _ => Layout::Whole,
                }
            }
        };
        SqlLocator {
            file_span: node_span.clone(),
            layout,
        }
    }

    /// Byte offset in the file of a 1-based SQL line/column.
    fn point(&self, file: &SourceFile, line: u64, col: u64) -> Option<usize> {
        let (line, col) = (line as usize, col as usize);
        if line == 0 {
            return None;
        }
        match self.layout {
            Layout::Block { first_line, indent } => {
                Some(file.offset(first_line + line - 1, indent + col))
            }
            Layout::Inline { offset } if line == 1 => {
                let (l, c) = file.line_col(offset);
                Some(file.offset(l, c + col - 1))
            }
            _ => None,
        }
    }

    /// The file span of a SQL range (end exclusive, as sqlparser gives it).
    pub fn span(&self, file: &SourceFile, start: (u64, u64), end: (u64, u64)) -> Span {
        match (
            self.point(file, start.0, start.1),
            self.point(file, end.0, end.1),
        ) {
            (Some(s), Some(e)) if e > s => Span::new(self.file_span.file, s..e),
            (Some(s), _) => {
                let e = file.text[s..]
                    .chars()
                    .next()
                    .map(|c| s + c.len_utf8())
                    .unwrap_or(s);
                Span::new(self.file_span.file, s..e)
            }
            _ => self.whole(),
        }
    }

    pub fn from_sqlparser(&self, file: &SourceFile, span: sqlparser::tokenizer::Span) -> Span {
        self.span(
            file,
            (span.start.line, span.start.column),
            (span.end.line, span.end.column),
        )
    }

    pub fn from_datafusion(&self, file: &SourceFile, span: &datafusion_common::Span) -> Span {
        self.span(
            file,
            (span.start.line, span.start.column),
            (span.end.line, span.end.column),
        )
    }

    /// The whole SQL value (its first line, for block scalars).
    pub fn whole(&self) -> Span {
        self.file_span.clone()
    }
}
