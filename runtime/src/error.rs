//! Runtime errors. Every user-facing one is a [`RuntimeError`]: a stable code (E6xx, listed in
//! `docs/diagnostics.md`), a message that names the source, tool or parameter involved, and a
//! help line. Bugs in widgettdc itself are [`RuntimeError::internal`] and say so.

use std::fmt;

use datafusion::error::DataFusionError;
use widgettdc_compiler::Code;

/// A user-facing runtime error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RuntimeError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// Set for bugs in widgettdc (not the user's input).
    pub internal: bool,
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

impl RuntimeError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        RuntimeError {
            code,
            message: message.into(),
            help: None,
            internal: false,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A bug in widgettdc.
    pub fn internal(message: impl fmt::Display) -> Self {
        RuntimeError {
            code: Code::QueryExecution,
            message: format!("internal error: {message}"),
            help: Some(
                "this is a bug in widgettdc, not in your project; please report it with the command you ran".into(),
            ),
            internal: true,
        }
    }

    /// Wrap this error so it can travel through DataFusion (and be found again by
    /// [`RuntimeError::from_datafusion`]).
    pub fn into_datafusion(self) -> DataFusionError {
        DataFusionError::External(Box::new(self))
    }

    /// Turn a DataFusion error into a runtime error: a [`RuntimeError`] raised by one of our
    /// providers keeps its code; anything else gets `code` and DataFusion's message.
    pub fn from_datafusion(e: DataFusionError, code: Code) -> Self {
        if let Some(found) = find_runtime_error(&e) {
            return found;
        }
        let root = e.find_root();
        let (code, help) = match root {
            DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => (
                Code::SourceUnavailable,
                "check that the file exists and can be read",
            ),
            DataFusionError::ParquetError(_) | DataFusionError::ArrowError(..) => (
                Code::SourceRead,
                "the data does not match what was expected: check the file and the declared columns",
            ),
            DataFusionError::ResourcesExhausted(_) => (
                Code::QueryExecution,
                "the query needs more memory than allowed: add a filter or LIMIT",
            ),
            _ if code == Code::QueryPlan => (
                code,
                "check table and column names (`widgettdc query \"SHOW TABLES\"` lists tables)",
            ),
            _ => (code, "see the message above"),
        };
        let message = clean_message(&root.strip_backtrace());
        let help = if message.contains("statement timeout")
            || message.contains("max_statement_time")
            || message.contains("maximum statement execution time")
        {
            "the database stopped the query at the source's `timeout:`: filter more, or raise it"
        } else {
            help
        };
        RuntimeError::new(code, message).help(help)
    }
}

fn find_runtime_error(e: &DataFusionError) -> Option<RuntimeError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<RuntimeError>() {
            return Some(r.clone());
        }
        if let Some(DataFusionError::External(inner)) = err.downcast_ref::<DataFusionError>() {
            if let Some(r) = inner.downcast_ref::<RuntimeError>() {
                return Some(r.clone());
            }
        }
        if let Some(DataFusionError::Context(_, inner)) = err.downcast_ref::<DataFusionError>() {
            cur = Some(inner.as_ref());
            continue;
        }
        if let Some(DataFusionError::Shared(inner)) = err.downcast_ref::<DataFusionError>() {
            cur = Some(inner.as_ref());
            continue;
        }
        cur = err.source();
    }
    None
}

/// DataFusion's messages carry prefixes meant for developers; keep the user's part.
fn clean_message(s: &str) -> String {
    let mut m = s.trim();
    for prefix in [
        "Error during planning: ",
        "This feature is not implemented: ",
        "Execution error: ",
        "External error: ",
        "Arrow error: ",
        "Parquet error: ",
        "Object Store error: ",
        "SQL error: ",
        "Schema error: ",
    ] {
        while let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    m.to_string()
}

impl miette::Diagnostic for RuntimeError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{}::{}",
            self.code.as_str(),
            self.code.name()
        )))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_survive_a_trip_through_datafusion() {
        let e = RuntimeError::new(Code::SourceUnavailable, "gone").help("h");
        let df = DataFusionError::Context("ctx".into(), Box::new(e.into_datafusion()));
        let back = RuntimeError::from_datafusion(df, Code::QueryExecution);
        assert_eq!(back.code, Code::SourceUnavailable);
        assert_eq!(back.message, "gone");
    }

    #[test]
    fn datafusion_prefixes_are_dropped() {
        let e = DataFusionError::Plan("table 'x' not found".into());
        let r = RuntimeError::from_datafusion(e, Code::QueryPlan);
        assert_eq!(r.message, "table 'x' not found");
        assert_eq!(r.code, Code::QueryPlan);
    }
}
