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
            let untyped: Vec<&str> = src
                .tools
                .iter()
                .filter(|(_, t)| t.schema.is_none())
                .map(|(n, _)| n.as_str())
                .filter(|n| a.calls(source, n))
                .collect();
            let how = if src.kind == "mcp" && src.tools.is_empty() {
                "run `widgettdc schema pull` to record the server's tools in schema.lock.yaml (the columns of tools that declare an `outputSchema` are typed from it)".to_string()
            } else if src.kind == "mcp" {
                format!(
                    "{} declares no `outputSchema`, so its columns are known only when it runs (`widgettdc run` or `explain` show them)",
                    untyped.iter().map(|t| format!("`{source}.{t}`")).collect::<Vec<_>>().join(", ")
                )
            } else if src.kind == "file" {
                "declare `columns:` on the source, or run `widgettdc schema pull` to lock its schema"
                    .to_string()
            } else {
                "declare its tables under `tables:`, or run `widgettdc schema pull` to write the lock file"
                    .to_string()
            };
            out.push(
                Diagnostic::warning(
                    Code::SchemaUnavailable,
                    a.locator.whole(),
                    format!("the SQL of tool `{name}` is not type-checked: the schema of source `{source}` is not known offline"),
                )
                .label("not type-checked")
                .help(how),
            );
        }
    }
}
