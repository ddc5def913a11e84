//! The stdlib's SQL scalar functions: one function per file, all listed in
//! the [`FUNCTIONS`] table below.
//!
//! | function | file |
//! |---|---|
//! | `time_bucket(width, ts[, origin])` | [`time_bucket`] |
//! | `ago(duration)` | [`ago`] |
//! | `json_path(json, path)` | [`json_path`] |
//! | `json_path_int(json, path)` | [`json_path_int`] |
//! | `json_path_float(json, path)` | [`json_path_float`] |
//! | `json_path_bool(json, path)` | [`json_path_bool`] |
//!
//! Shared helpers (not functions themselves): [`duration_arg`] reads constant
//! duration arguments (`'15m'` or an interval), `json_common` runs a JSON path
//! over a text column.

use std::sync::Arc;

use datafusion_expr::ScalarUDF;

pub mod ago;
pub mod duration_arg;
mod json_common;
pub mod json_path;
pub mod json_path_bool;
pub mod json_path_float;
pub mod json_path_int;
pub mod time_bucket;

#[cfg(test)]
mod test_support;

pub use ago::Ago;
pub use json_path::JsonPath;
pub use json_path_bool::JsonPathBool;
pub use json_path_float::JsonPathFloat;
pub use json_path_int::JsonPathInt;
pub use time_bucket::TimeBucket;

/// The table of every stdlib scalar function: one constructor per line.
///
/// # How to add a function
///
/// 1. Create `functions/<name>.rs` with a struct implementing
///    `datafusion_expr::ScalarUDFImpl` and a `pub fn udf() -> ScalarUDF`.
///    Start the file with a doc comment giving the signature, semantics,
///    SQL examples and NULL/error behaviour (see `json_path.rs`).
/// 2. Never panic: return a DataFusion error (`plan_err!` for problems seen
///    while planning, `exec_err!` while running) or NULL, and say which in
///    the doc comment. Validate constant arguments in
///    `return_field_from_args` so mistakes surface when the spec is compiled.
/// 3. Add unit tests in the same file that call the UDF through
///    `ScalarUDF::invoke_with_args` with real Arrow arrays (see
///    `test_support`): normal values, NULLs and edge cases.
/// 4. Add `pub mod <name>;` and `pub use` above, and a line to this table.
/// 5. Document it in `docs/stdlib.md` under a ``## `<name>` `` heading (a
///    test checks every function here has one).
pub const FUNCTIONS: &[fn() -> ScalarUDF] = &[
    time_bucket::udf,
    ago::udf,
    json_path::udf,
    json_path_int::udf,
    json_path_float::udf,
    json_path_bool::udf,
];

/// Every function of [`FUNCTIONS`], constructed.
pub fn all() -> Vec<Arc<ScalarUDF>> {
    FUNCTIONS.iter().map(|make| Arc::new(make())).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = HashSet::new();
        for f in all() {
            for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
                assert_eq!(name, name.to_ascii_lowercase());
                assert!(seen.insert(name.to_string()), "duplicate function {name}");
            }
        }
        assert_eq!(seen.len(), FUNCTIONS.len());
    }

    #[test]
    fn every_function_is_documented() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/stdlib.md");
        let docs = std::fs::read_to_string(path).expect("docs/stdlib.md exists");
        for f in all() {
            let heading = format!("## `{}`", f.name());
            assert!(
                docs.lines().any(|l| l.starts_with(&heading)),
                "docs/stdlib.md has no `{heading}` section"
            );
        }
    }
}
