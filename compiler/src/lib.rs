//! widgettdc's compiler: YAML specs in, typed query plans and diagnostics out.
//!
//! Stages (each a plain function, see docs/architecture.md):
//! 1. [`project::load`]: find the spec files, parse YAML with spans, decode into spec types
//!    (unknown keys, wrong shapes, interpolation), merge files (duplicate names).
//! 2. [`compile::compile`]: resolve references, check parameters, plan each tool's SQL with
//!    DataFusion's SQL planner against a schema-only catalog, check widgets.
//!
//! The compiler reads spec files and nothing else; environment values, secrets and schemas
//! reach it as data. It never starts an async runtime.

pub mod codes;
pub mod decode;
pub mod diagnostic;
pub mod source;
pub mod spec;
pub mod yaml;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub mod builtins;
pub mod catalog;
pub mod checks;
pub mod compile;
pub mod error;
pub mod lock;
pub mod mcp;
pub mod params;
pub mod plan;
pub mod project;
pub mod render;
pub mod sql;
pub mod types;

pub use catalog::ExternalSchemas;
pub use decode::Env;
pub use error::LoadError;
pub use plan::{CompiledProject, CompiledTool};
pub use project::Project;
pub use sql::provider::FunctionSet;

/// Load and compile a project directory in one call: what `widgettdc check` does offline.
pub fn check_dir(
    dir: &std::path::Path,
    env: &Env,
    external: &ExternalSchemas,
    functions: &FunctionSet,
) -> Result<(Project, CompiledProject, Vec<Diagnostic>), LoadError> {
    let mut diags = Diagnostics::default();
    let project = project::load(dir, env, &mut diags)?;
    let compiled = compile::compile(&project, external, functions, &mut diags);
    Ok((project, compiled, diags.into_sorted()))
}
