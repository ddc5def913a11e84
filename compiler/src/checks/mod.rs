//! Checks over an analysed project. Each check is one file with one `run` function,
//! registered in [`CHECKS`].
//!
//! How to add a check: create `<name>.rs` with `pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>)`,
//! add a [`Check`] entry below, give its diagnostics codes in `codes.rs` (documented in
//! `docs/diagnostics.md`), and add one fixture per case under `tests/fixtures/bad/` with its
//! snapshot (`cargo insta test --accept` writes it; review it).

pub(crate) mod api_required;
mod needed_env;
mod parameter_decls;
mod parameter_usage;
mod read_only;
mod reserved_parameter;
mod schema_availability;
mod toolsets;
pub(crate) mod whole_table;
mod widgets;

use indexmap::IndexMap;

use crate::catalog::Catalog;
use crate::compile::ToolAnalysis;
use crate::diagnostic::Diagnostic;
use crate::project::Project;

/// What every check sees.
pub struct CheckCx<'a> {
    pub project: &'a Project,
    pub catalog: &'a Catalog,
    pub analyses: &'a IndexMap<String, ToolAnalysis>,
}

pub struct Check {
    pub name: &'static str,
    pub run: fn(&CheckCx, &mut Vec<Diagnostic>),
}

/// The checks, in the order they run.
pub const CHECKS: &[Check] = &[
    Check {
        name: "api-required",
        run: api_required::run,
    },
    Check {
        name: "needed-env",
        run: needed_env::run,
    },
    Check {
        name: "parameter-declarations",
        run: parameter_decls::run,
    },
    Check {
        name: "parameter-usage",
        run: parameter_usage::run,
    },
    Check {
        name: "read-only",
        run: read_only::run,
    },
    Check {
        name: "reserved-parameter",
        run: reserved_parameter::run,
    },
    Check {
        name: "schema-availability",
        run: schema_availability::run,
    },
    Check {
        name: "whole-table",
        run: whole_table::run,
    },
    Check {
        name: "toolsets",
        run: toolsets::run,
    },
    Check {
        name: "widgets",
        run: widgets::run,
    },
];
