//! A tool is read-only unless it says `mode: write`: INSERT/UPDATE/DELETE/DDL in a read-only
//! tool is an error. Statements that are neither queries nor writes are not tools.

use sqlparser::ast::Spanned as _;

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::{article, Diagnostic};
use crate::sql::StatementKind;

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (name, tool) in &cx.project.tools {
        let a = &cx.analyses[name];
        let Some(parsed) = &a.parsed else { continue };
        let file = cx.project.file(&tool.sql.span);
        let span = a.locator.from_sqlparser(file, parsed.statement.span());
        let word = parsed
            .statement
            .to_string()
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_uppercase();
        match a.kind() {
            Some(StatementKind::Write) if !tool.is_write() => out.push(
                Diagnostic::error(
                    Code::WriteInReadOnly,
                    span,
                    format!(
                        "tool `{name}` is read-only but its SQL is {} {word} statement",
                        article(&word)
                    ),
                )
                .label("writes data")
                .help("add `mode: write` to the tool if it is meant to change data"),
            ),
            Some(StatementKind::Other) => out.push(
                Diagnostic::error(
                    Code::UnsupportedStatement,
                    span,
                    format!("tools cannot run {word} statements"),
                )
                .label("not a query")
                .help(
                    "a tool is one SELECT (or, with `mode: write`, INSERT/UPDATE/DELETE) statement",
                ),
            ),
            _ => {}
        }
    }
}
