//! widgettdc's standard library: the SQL functions dashboards need on top of
//! DataFusion's own (time buckets, relative times, JSON paths), and the row
//! selector evaluator shared with the runtime.
//!
//! * [`scalar_functions`] — every stdlib scalar function, ready to register
//!   next to DataFusion's built-ins. The table lives in [`functions`]; see
//!   `docs/stdlib.md` for the SQL reference.
//! * [`tools`] — built-in tools every source has (`list_tables`, `describe_table`), which a
//!   toolset opts into as `<source>.<tool>`.
//! * [`select`] — applies a [`widgettdc_grammar::Selector`] (`$.data.items[*]`)
//!   to a `serde_json::Value`.
//!
//! No function in this crate panics on any input: bad arguments become
//! DataFusion plan or execution errors, and unusable data becomes NULL as
//! each function documents.

pub mod functions;
mod select;
pub mod tools;

use std::sync::Arc;

use datafusion_expr::ScalarUDF;

pub use select::{is_definite, select};

/// Every stdlib scalar function.
///
/// ```
/// let names: Vec<String> = widgettdc_stdlib::scalar_functions()
///     .iter()
///     .map(|f| f.name().to_string())
///     .collect();
/// assert!(names.contains(&"time_bucket".to_string()));
/// ```
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    functions::all()
}
