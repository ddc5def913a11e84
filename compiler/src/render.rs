//! Rendering diagnostics: human (miette), JSON, GitHub Actions annotations, SARIF 2.1.0.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{json, Value};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// A diagnostic with its files, as a `miette::Diagnostic`.
pub struct Report<'a> {
    pub diag: &'a Diagnostic,
    pub files: &'a SourceMap,
    source: NamedSource<std::sync::Arc<str>>,
    related: Vec<Related>,
}

/// A secondary label in another file, shown as a related diagnostic.
#[derive(Debug)]
struct Related {
    message: String,
    span: Span,
    source: NamedSource<std::sync::Arc<str>>,
}

impl fmt::Display for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Related {}

impl miette::Diagnostic for Related {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.message.clone()),
            to_source_span(&self.span),
        ))))
    }
}

fn to_source_span(s: &Span) -> SourceSpan {
    SourceSpan::new(
        s.range.start.into(),
        s.range.end.saturating_sub(s.range.start),
    )
}

impl<'a> Report<'a> {
    pub fn new(diag: &'a Diagnostic, files: &'a SourceMap) -> Self {
        let related = diag
            .secondary
            .iter()
            .filter(|l| l.span.file != diag.primary.span.file)
            .map(|l| {
                let f = files.get(l.span.file);
                Related {
                    message: l.text.clone(),
                    span: l.span.clone(),
                    source: NamedSource::new(f.display.clone(), f.text.clone()),
                }
            })
            .collect();
        let f = files.get(diag.primary.span.file);
        let source = NamedSource::new(f.display.clone(), f.text.clone());
        Report {
            diag,
            files,
            source,
            related,
        }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report").field("diag", self.diag).finish()
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}({})",
            self.diag.code.as_str(),
            self.diag.code.name()
        )))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diag;
        let primary = LabeledSpan::new_primary_with_span(
            (!d.primary.text.is_empty()).then(|| d.primary.text.clone()),
            to_source_span(&d.primary.span),
        );
        let secondary = d
            .secondary
            .iter()
            .filter(move |l| l.span.file == d.primary.span.file)
            .map(|l| LabeledSpan::new_with_span(Some(l.text.clone()), to_source_span(&l.span)));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// Render for a terminal or a snapshot: `color` false gives plain text; `width` wraps.
pub fn human(diags: &[Diagnostic], files: &SourceMap, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diags {
        let report = Report::new(d, files);
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    out
}

/// One line per diagnostic with position, for summaries.
pub fn location(d: &Diagnostic, files: &SourceMap) -> (String, usize, usize) {
    let f = files.get(d.primary.span.file);
    let (line, col) = f.line_col(d.primary.span.range.start);
    (f.display.clone(), line, col)
}

/// `{"diagnostics":[{"severity","code","name","message","file","line","column","end_line","end_column","help"}]}`
pub fn json(diags: &[Diagnostic], files: &SourceMap) -> Value {
    let items: Vec<Value> = diags
        .iter()
        .map(|d| {
            let f = files.get(d.primary.span.file);
            let (line, column) = f.line_col(d.primary.span.range.start);
            let (end_line, end_column) = f.line_col(d.primary.span.range.end);
            json!({
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "name": d.code.name(),
                "message": d.message,
                "file": f.display,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "label": d.primary.text,
                "help": d.help,
            })
        })
        .collect();
    json!({ "diagnostics": items })
}

/// GitHub Actions workflow commands (`::error file=...,line=...,col=...::message`).
pub fn github(diags: &[Diagnostic], files: &SourceMap) -> String {
    fn esc(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in diags {
        let (file, line, col) = location(d, files);
        let f = files.get(d.primary.span.file);
        let (end_line, end_col) = f.line_col(d.primary.span.range.end);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            esc_prop(&file),
            esc_prop(&format!("{} {}", d.code.as_str(), d.code.name())),
            esc(&msg)
        ));
    }
    out
}

/// SARIF 2.1.0 for code-scanning tools.
pub fn sarif(diags: &[Diagnostic], files: &SourceMap) -> Value {
    let rules: Vec<Value> = crate::codes::Code::ALL
        .iter()
        .map(|c| {
            let (code, name, summary) = c.info();
            json!({"id": code, "name": name, "shortDescription": {"text": summary}})
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let f = files.get(d.primary.span.file);
            let (line, column) = f.line_col(d.primary.span.range.start);
            let (end_line, end_column) = f.line_col(d.primary.span.range.end);
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(" (help: ");
                text.push_str(h);
                text.push(')');
            }
            json!({
                "ruleId": d.code.as_str(),
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": text},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.display},
                    "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}
                }}]
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "widgettdc", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results
        }]
    })
}
