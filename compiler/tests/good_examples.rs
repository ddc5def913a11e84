//! Every example project under `examples/` (at the workspace root) checks without errors.
//!
//! An example is a directory `examples/<name>/` with spec files (`*.yaml`/`*.yml` in it or in
//! its `sources/`, `tools/`, `widgets/` folders), or with a `.mcp/` folder holding them (the
//! CLI's default project directory). Warnings are allowed; errors fail the test with the
//! rendered report. Examples are discovered at runtime, so a new one needs no edit here.

use std::path::{Path, PathBuf};

use widgettdc_compiler::project::SPEC_SUBDIRS;
use widgettdc_compiler::{check_dir, render, Env, ExternalSchemas, FunctionSet, Severity};

const EXAMPLES: &str = "../examples";

fn has_specs(dir: &Path) -> bool {
    let is_spec = |p: &Path| {
        p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
    };
    let in_dir = |d: &Path| {
        std::fs::read_dir(d)
            .map(|rd| rd.filter_map(Result::ok).any(|e| is_spec(&e.path())))
            .unwrap_or(false)
    };
    in_dir(dir) || SPEC_SUBDIRS.iter().any(|s| in_dir(&dir.join(s)))
}

/// The project directories to check: `<example>/.mcp` if present, else the example itself.
fn projects() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(EXAMPLES) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let mcp = p.join(".mcp");
            if mcp.is_dir() && has_specs(&mcp) {
                Some(mcp)
            } else if has_specs(&p) {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn examples_check_without_errors() {
    let projects = projects();
    if projects.is_empty() {
        eprintln!("note: no example projects under {EXAMPLES} yet; nothing to check");
        return;
    }
    let mut failed = Vec::new();
    for dir in &projects {
        let (project, _compiled, diags) = check_dir(
            dir,
            &Env::default(),
            &ExternalSchemas::new(),
            &FunctionSet::standard(),
        )
        .unwrap_or_else(|e| panic!("{}: cannot load: {e}", dir.display()));
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        eprintln!(
            "{}: {errors} error(s), {} warning(s)",
            dir.display(),
            diags.len() - errors
        );
        if errors > 0 {
            failed.push(format!(
                "{} has {errors} error(s):\n{}",
                dir.display(),
                render::human(&diags, &project.files, false, 100)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
