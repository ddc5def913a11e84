//! YAML loading with source positions.
//!
//! We read saphyr-parser's event stream (saphyr is the maintained YAML 1.2 successor of
//! yaml-rust; serde_yaml is deprecated upstream, see docs/yaml.md) and build our own small tree
//! in which every node knows its byte span. Duplicate keys are diagnosed here rather than
//! silently overwritten, and aliases are expanded.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Null,
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

impl Node {
    /// What the node is, in words, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "nothing (null)",
            NodeKind::Scalar { text, style } => match (style, scalar_kind(text)) {
                (Style::Plain, ScalarKind::Bool) => "a boolean",
                (Style::Plain, ScalarKind::Int) => "an integer",
                (Style::Plain, ScalarKind::Float) => "a number",
                _ => "a string",
            },
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn scalar_kind(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarKind::Bool,
        _ => {}
    }
    if parse_int(text).is_some() {
        ScalarKind::Int
    } else if parse_float(text).is_some() {
        ScalarKind::Float
    } else {
        ScalarKind::Str
    }
}

pub fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

pub fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let ok = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

/// Parse one YAML file into a node tree. A syntax error yields a diagnostic and no tree;
/// duplicate keys yield diagnostics and a tree (the first occurrence wins).
pub fn load(file_id: FileId, file: &SourceFile) -> (Option<Node>, Vec<Diagnostic>) {
    let mut loader = Loader {
        file,
        diags: Vec::new(),
        anchors: HashMap::new(),
    };
    let mut parser = Parser::new_from_str(&file.text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(e)) => e,
            Some(Err(err)) => {
                let m = err.marker();
                let off = file.offset(m.line(), m.col() + 1);
                let end = (off + 1).min(file.text.len()).max(off);
                let d = Diagnostic::error(
                    Code::YamlSyntax,
                    Span::new(file_id, off..end),
                    format!("invalid YAML: {}", err.info()),
                )
                .label("here")
                .help("check indentation, and quote values that contain `: ` or start with `{`, `[`, `*`, `&`, `!`, `|`, `>`, `%` or `@`");
                loader.diags.push(d);
                return (None, loader.diags);
            }
        };
        let start = file.offset(span.start.line(), span.start.col() + 1);
        let end = file.offset(span.end.line(), span.end.col() + 1).max(start);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    loader.diags.push(
                        Diagnostic::error(
                            Code::YamlSyntax,
                            Span::new(file_id, start..end.max(start + 3).min(file.text.len())),
                            "a spec file holds one YAML document, this is a second one",
                        )
                        .label("second document starts here")
                        .help("move the second document into a file of its own"),
                    );
                    break;
                }
            }
            Event::Alias(id) => {
                let node = match loader.anchors.get(&id) {
                    Some(n) => Node {
                        kind: n.kind.clone(),
                        span: Span::new(file_id, start..end),
                    },
                    None => Node {
                        kind: NodeKind::Null,
                        span: Span::new(file_id, start..end),
                    },
                };
                loader.attach(&mut stack, &mut root, node, 0);
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let kind = if style == Style::Plain && scalar_kind(&text) == ScalarKind::Null {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar {
                        text: text.into_owned(),
                        style,
                    }
                };
                let node = Node {
                    kind,
                    span: Span::new(file_id, start..end),
                };
                loader.attach(&mut stack, &mut root, node, anchor);
            }
            Event::SequenceStart(anchor, _) => stack.push(Frame {
                start,
                anchor,
                kind: FrameKind::Seq(Vec::new()),
            }),
            Event::MappingStart(anchor, _) => stack.push(Frame {
                start,
                anchor,
                kind: FrameKind::Map(Vec::new(), None),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else { continue };
                let kind = match frame.kind {
                    FrameKind::Seq(items) => NodeKind::Seq(items),
                    FrameKind::Map(items, _) => NodeKind::Map(items),
                };
                // The end marker of a block collection can sit at the start of the next key;
                // trim trailing whitespace so the span ends at the last content character.
                let mut e = end.max(frame.start);
                while e > frame.start && file.text.as_bytes()[e - 1].is_ascii_whitespace() {
                    e -= 1;
                }
                let node = Node {
                    kind,
                    span: Span::new(file_id, frame.start..e),
                };
                loader.attach(&mut stack, &mut root, node, frame.anchor);
            }
        }
    }
    let root = root.unwrap_or(Node {
        kind: NodeKind::Null,
        span: Span::new(file_id, 0..0),
    });
    (Some(root), loader.diags)
}

struct Frame {
    start: usize,
    anchor: usize,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Node>),
    /// Entries so far, and a key waiting for its value.
    Map(Vec<(Node, Node)>, Option<Node>),
}

struct Loader<'a> {
    file: &'a SourceFile,
    diags: Vec<Diagnostic>,
    anchors: HashMap<usize, Node>,
}

impl Loader<'_> {
    fn attach(&mut self, stack: &mut [Frame], root: &mut Option<Node>, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(top) = stack.last_mut() else {
            if root.is_none() {
                *root = Some(node);
            }
            return;
        };
        match &mut top.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map(items, pending) => match pending.take() {
                None => {
                    // a key spelled `null`/`~` is still a key with that text
                    let node = match node.kind {
                        NodeKind::Null if !node.span.range.is_empty() => Node {
                            kind: NodeKind::Scalar {
                                text: self.file.text[node.span.range.clone()].to_string(),
                                style: Style::Plain,
                            },
                            span: node.span,
                        },
                        _ => node,
                    };
                    if !matches!(node.kind, NodeKind::Scalar { .. } | NodeKind::Null) {
                        self.diags.push(
                            Diagnostic::error(
                                Code::WrongType,
                                node.span.clone(),
                                format!("a key must be a plain name, found {}", node.describe()),
                            )
                            .label("this key")
                            .help("keys in a spec are names such as `sources` or `region`"),
                        );
                    }
                    *pending = Some(node);
                }
                Some(key) => {
                    let key_text = key.scalar_text().unwrap_or("");
                    if let Some((first, _)) = items
                        .iter()
                        .find(|(k, _)| k.scalar_text().unwrap_or("") == key_text)
                    {
                        let first_span = first.span.clone();
                        self.diags.push(
                            Diagnostic::error(
                                Code::DuplicateKey,
                                key.span.clone(),
                                format!("duplicate key `{key_text}`"),
                            )
                            .label("defined again here")
                            .with_secondary(first_span, "first defined here")
                            .help("remove one of them; YAML keeps only one value per key"),
                        );
                    } else {
                        items.push((key, node));
                    }
                }
            },
        }
    }
}
