//! A tool whose SQL reads a source with no schema known offline is not type-checked: say so
//! (a warning), and how to make it checkable.

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (name, a) in cx.analyses {
        for source in &a.unavailable {
            let Some(src) = cx.catalog.sources.get(source) else {
                continue;
            };
            let how = if src.kind == "mcp" {
                "an MCP tool's columns are known only when it runs (`widgettdc run` or `explain` show them); the lock file does not record MCP tools yet"
            } else if src.kind == "file" {
                "declare `columns:` on the source, or run `widgettdc schema pull` to lock its schema"
            } else {
                "declare its tables under `tables:`, or run `widgettdc schema pull` to write the lock file"
            };
            out.push(
                Diagnostic::warning(
                    Code::SchemaUnavailable,
                    a.locator.whole(),
                    format!("the SQL of tool `{name}` is not type-checked: the schema of source `{source}` is not known offline"),
                )
                .label("not type-checked")
                .help(how.to_string()),
            );
        }
    }
}
