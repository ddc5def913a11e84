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
/// With `live`, the sources' live schemas are read and take the lock file's place, and drift
/// between the two is reported.
fn load_with(
    args: &ProjectArgs,
    live: bool,
) -> Result<(Project, CompiledProject, Vec<Diagnostic>), i32> {
    let functions = widgettdc_runtime::functions();
    let mut diags = Diagnostics::default();
    let mut project = project::load(&args.project, &env(args), &mut diags).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let (mut external, read_diags) = widgettdc_runtime::schemas::read_local(&project);
    diags.extend(read_diags);
    if live {
        let (pulled, errors) = live_schemas(args)?;
        diags.extend(widgettdc_runtime::schemas::drift(&project, &pulled));
        for (source, e) in errors {
            if let Some(span) = project.sources.get(&source).map(|s| s.key_span.clone()) {
                diags.push(
                    Diagnostic::warning(
                        widgettdc_compiler::Code::SchemaRead,
                        span,
                        e.message.clone(),
                    )
                    .label("live schema not read")
                    .maybe_help(e.help.clone()),
                );
            }
        }
        // the live schemas win over the lock file for the sources that were read
        if let Some(lock) = project.lock.as_mut() {
            lock.sources.0.retain(|name, _| !pulled.has(name));
        }
        external.extend(widgettdc_runtime::schemas::external(&pulled));
    }
    let compiled = compile::compile(&project, &external, &functions, &mut diags);
    Ok((project, compiled, diags.into_sorted()))
}

fn load(args: &ProjectArgs) -> Result<(Project, CompiledProject, Vec<Diagnostic>), i32> {
    load_with(args, false)
}

/// The live schemas of every source the runtime can open.
fn live_schemas(
    args: &ProjectArgs,
) -> Result<
    (
        widgettdc_compiler::lock::Locked,
        Vec<(String, widgettdc_runtime::RuntimeError)>,
    ),
    i32,
> {
    let options = widgettdc_runtime::Options {
        ignore_lock: true,
        ..Default::default()
    };
    let rt =
        widgettdc_runtime::Runtime::load(&args.project, &env(args), &options).map_err(|e| {
            eprintln!("error: {e}");
            2
        })?;
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            2
        })?;
    Ok(exec.block_on(widgettdc_runtime::schemas::pull(&rt)))
}

pub fn check(args: &ProjectArgs, format: CheckFormat, live: bool) -> i32 {
    let (project, _compiled, diags) = match load_with(args, live) {
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
