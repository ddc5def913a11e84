//! `widgettdc check` and `widgettdc compile`.

use widgettdc_compiler::diagnostic::Diagnostics;
use widgettdc_compiler::diagnostic::Severity;
use widgettdc_compiler::{compile, project, render, CompiledProject, Diagnostic, Env, Project};

use super::{color_stdout, width, CheckFormat, CompileFormat, ProjectArgs};

fn env(args: &ProjectArgs) -> Env {
    let mut env = Env::from_vars(std::env::vars());
    env.strict = args.strict_env;
    env
}

/// Load and compile the project offline (local files and SQLite databases without declared
/// columns are typed from the files themselves); on an IO error, print it and give exit code 2.
fn load(args: &ProjectArgs) -> Result<(Project, CompiledProject, Vec<Diagnostic>), i32> {
    let functions = widgettdc_runtime::functions();
    let mut diags = Diagnostics::default();
    let project = project::load(&args.project, &env(args), &mut diags).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let (external, read_diags) = widgettdc_runtime::schemas::read_local(&project);
    diags.extend(read_diags);
    let compiled = compile::compile(&project, &external, &functions, &mut diags);
    Ok((project, compiled, diags.into_sorted()))
}

pub fn check(args: &ProjectArgs, format: CheckFormat) -> i32 {
    let (project, _compiled, diags) = match load(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    match format {
        CheckFormat::Human => {
            print!(
                "{}",
                render::human(&diags, &project.files, color_stdout(), width())
            );
            let files = project.files.files().count();
            if diags.is_empty() {
                println!(
                    "✓ {} checked: no problems in {files} file(s)",
                    args.project.display()
                );
            } else {
                println!(
                    "{} checked: {errors} error(s), {warnings} warning(s) in {files} file(s)",
                    args.project.display()
                );
            }
        }
        CheckFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&diags, &project.files)).unwrap_or_default()
        ),
        CheckFormat::Github => print!("{}", render::github(&diags, &project.files)),
        CheckFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&render::sarif(&diags, &project.files))
                .unwrap_or_default()
        ),
    }
    i32::from(errors > 0)
}

pub fn compile(args: &ProjectArgs, format: CompileFormat) -> i32 {
    let (project, compiled, diags) = match load(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    if !diags.is_empty() {
        eprint!("{}", render::human(&diags, &project.files, false, width()));
    }
    if errors {
        eprintln!("compile failed: run `widgettdc check` for details");
        return 1;
    }
    match format {
        CompileFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&compiled.to_json()).unwrap_or_default()
        ),
        CompileFormat::Human => {
            for (name, t) in &compiled.tools {
                println!("tool {name}{}", if t.read_only { "" } else { " (write)" });
                for p in &t.params {
                    let req = if p.required { "required" } else { "optional" };
                    let def = p
                        .default
                        .as_ref()
                        .map(|d| format!(", default {d}"))
                        .unwrap_or_default();
                    println!("  in  ${}: {} ({req}{def})", p.name, p.ty);
                }
                match &t.output {
                    Some(schema) => {
                        for f in schema.fields() {
                            println!(
                                "  out {}: {}{}",
                                f.name(),
                                f.data_type(),
                                if f.is_nullable() { "" } else { " not null" }
                            );
                        }
                    }
                    None => println!("  out (not typed offline)"),
                }
            }
            for (name, w) in &compiled.widgets {
                println!("widget {name}");
                for (k, d) in &w.data {
                    let refresh = d
                        .refresh
                        .map(|r| format!(" every {}", widgettdc_grammar::format_duration(r)))
                        .unwrap_or_default();
                    println!(
                        "  {k} ← {}({}){refresh}",
                        d.tool,
                        serde_json::Value::Object(d.params.clone())
                    );
                }
            }
        }
    }
    0
}
