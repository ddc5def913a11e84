//! `widgettdc query`, `run` and `explain`: execute on the runtime.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};
use widgettdc_compiler::{render, Code, Env};
use widgettdc_runtime::output::{self, Format};
use widgettdc_runtime::{Options, Runtime, RuntimeError};

use super::{width, ProjectArgs};

/// Output options shared by `query` and `run`.
#[derive(clap::Args, Debug, Clone)]
pub struct OutputArgs {
    /// table (default), json (an array of row objects), ndjson, csv, parquet or arrow (IPC stream).
    #[arg(long, short = 'f', default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::ALL
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            format!(
                "unknown format `{s}`; formats: {}",
                Format::ALL
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Tool arguments.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ParamArgs {
    /// A tool argument, `name=value` (repeatable). Lists: `a,b,c` or a JSON array.
    #[arg(long = "param", short = 'P', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Tool arguments as one JSON object, e.g. '{"limit": 10}'.
    #[arg(long, value_name = "JSON")]
    pub params_json: Option<String>,
}

fn env(args: &ProjectArgs) -> Env {
    let mut env = Env::from_vars(std::env::vars());
    env.strict = args.strict_env;
    env
}

fn print_errors(errors: &[RuntimeError]) {
    let handler = miette::GraphicalReportHandler::new_themed(if color_stderr() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_width(width());
    for e in errors {
        let mut s = String::new();
        if handler.render_report(&mut s, e).is_ok() {
            eprint!("{s}");
        } else {
            eprintln!("error[{}]: {}", e.code, e.message);
        }
    }
}

fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn tokio() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            2
        })
}

/// Load the project; print its errors (and warnings, for `run`) to stderr.
fn load(args: &ProjectArgs, show_diagnostics: bool) -> Result<Runtime, i32> {
    let rt = Runtime::load(&args.project, &env(args), &Options::default()).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    if show_diagnostics {
        let shown: Vec<_> = rt
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if !shown.is_empty() {
            eprint!(
                "{}",
                render::human(&shown, &rt.project.files, color_stderr(), width())
            );
        }
    }
    Ok(rt)
}

/// Parse `--param` and `--params-json` into one argument object.
fn arguments(
    p: &ParamArgs,
    tool: Option<&widgettdc_compiler::CompiledTool>,
) -> Result<Map<String, Value>, Vec<RuntimeError>> {
    let mut args = Map::new();
    let mut errors = Vec::new();
    if let Some(j) = &p.params_json {
        match serde_json::from_str::<Value>(j) {
            Ok(Value::Object(m)) => args.extend(m),
            Ok(other) => errors.push(
                RuntimeError::new(
                    Code::ParameterType,
                    format!("--params-json must be a JSON object, not {other}"),
                )
                .help(r#"e.g. --params-json '{"limit": 10}'"#),
            ),
            Err(e) => errors.push(
                RuntimeError::new(
                    Code::ParameterType,
                    format!("--params-json is not valid JSON: {e}"),
                )
                .help(r#"e.g. --params-json '{"limit": 10}'"#),
            ),
        }
    }
    for kv in &p.params {
        let Some((k, v)) = kv.split_once('=') else {
            errors.push(
                RuntimeError::new(
                    Code::ParameterType,
                    format!("--param `{kv}` is not NAME=VALUE"),
                )
                .help("e.g. --param limit=10"),
            );
            continue;
        };
        let is_list = tool
            .and_then(|t| t.param(k))
            .is_some_and(|p| matches!(p.ty, widgettdc_grammar::TypeExpr::List(_)));
        let value = if is_list && v.trim_start().starts_with('[') {
            serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
        } else {
            Value::String(v.to_string())
        };
        args.insert(k.trim().to_string(), value);
    }
    if errors.is_empty() {
        Ok(args)
    } else {
        Err(errors)
    }
}

/// A row counter on stderr for long results, only on a terminal and only when the result is
/// not itself going to that terminal.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(to_terminal: bool) -> Self {
        let show = std::io::stderr().is_terminal() && !to_terminal;
        let bar = show.then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {human_pos} rows written in {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress { bar }
    }

    fn set(&self, rows: u64) {
        if let Some(b) = &self.bar {
            b.set_position(rows);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

async fn write_result(
    stream: datafusion::execution::SendableRecordBatchStream,
    out: &OutputArgs,
) -> Result<u64, RuntimeError> {
    let mut sink: Box<dyn Write + Send> = match &out.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path).map_err(|e| {
                RuntimeError::new(
                    Code::Output,
                    format!("cannot create `{}`: {e}", path.display()),
                )
                .help("check that the directory exists and is writable")
            })?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())),
    };
    let to_terminal = out.output.is_none() && std::io::stdout().is_terminal();
    if to_terminal && out.format.is_binary() {
        return Err(RuntimeError::new(
            Code::Output,
            "binary output (parquet, arrow) is not written to a terminal",
        )
        .help("add `--output FILE`, or redirect standard output to a file"));
    }
    let progress = Progress::new(to_terminal);
    let result = output::write(stream, out.format, &mut sink, &mut |rows| {
        progress.set(rows)
    })
    .await;
    progress.finish();
    let rows = result?;
    sink.flush()
        .map_err(|e| RuntimeError::new(Code::Output, format!("cannot write the result: {e}")))?;
    Ok(rows)
}

fn done(result: Result<(), Vec<RuntimeError>>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(errors) => {
            // a reader that stopped early (`| head`) is not a failure, and not worth a message
            let errors: Vec<RuntimeError> = errors
                .into_iter()
                .filter(|e| !(e.code == Code::Output && e.message.contains("Broken pipe")))
                .collect();
            print_errors(&errors);
            i32::from(!errors.is_empty())
        }
    }
}

pub fn query(args: &ProjectArgs, out: &OutputArgs, sql: &str) -> i32 {
    let rt = match load(args, false) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let errors = rt.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!(
            "warning: the project has {errors} error(s) (see `widgettdc check`); running the query anyway"
        );
    }
    execute(async {
        let df = rt.query(sql).await.map_err(|e| vec![e])?;
        let stream = df
            .execute_stream()
            .await
            .map_err(|e| vec![RuntimeError::from_datafusion(e, Code::QueryExecution)])?;
        write_result(stream, out).await.map_err(|e| vec![e])?;
        Ok(())
    })
}

/// Run `work` on a fresh async runtime; print its errors; the exit code.
fn execute(work: impl std::future::Future<Output = Result<(), Vec<RuntimeError>>>) -> i32 {
    match tokio() {
        Ok(exec) => done(exec.block_on(work)),
        Err(c) => c,
    }
}

pub fn run(args: &ProjectArgs, out: &OutputArgs, params: &ParamArgs, tool: &str) -> i32 {
    let rt = match load(args, true) {
        Ok(r) => r,
        Err(c) => return c,
    };
    execute(async {
        let found = rt.tool(tool).ok();
        let args = arguments(params, found.as_deref())?;
        let stream = rt.tool_stream(tool, &args).await?;
        write_result(stream, out).await.map_err(|e| vec![e])?;
        Ok(())
    })
}

pub fn explain(args: &ProjectArgs, params: &ParamArgs, target: &str, analyze: bool) -> i32 {
    let is_tool = !target.contains(char::is_whitespace);
    let rt = match load(args, is_tool) {
        Ok(r) => r,
        Err(c) => return c,
    };
    execute(async {
        let (df, direct) = if is_tool {
            let found = rt.tool(target).ok();
            let args = arguments(params, found.as_deref())?;
            let direct = rt.runs_directly_in(target, &args).await?;
            (rt.tool_frame(target, &args).await?, direct)
        } else {
            (rt.query(target).await.map_err(|e| vec![e])?, None)
        };
        let explained = widgettdc_runtime::explain::explain(df, analyze)
            .await
            .map_err(|e| vec![e])?;
        if let Some(d) = direct {
            println!(
                "Runs wholly in source `{}`: a call binds its arguments into the statement planned once and sends it there (no planning per call).",
                d.source
            );
            if let Some(sql) = d.parameterised {
                println!("Sent once per call with the arguments as typed parameters:");
                println!("  {sql}");
            }
            println!();
        }
        print!("{explained}");
        Ok(())
    })
}

/// `widgettdc discover`.
pub fn discover(args: &ProjectArgs, json: bool) -> i32 {
    let rt = match Runtime::load(&args.project, &env(args), &Options::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let exec = match tokio() {
        Ok(e) => e,
        Err(c) => return c,
    };
    let sources = exec.block_on(rt.discover());
    let down = sources.iter().any(|s| s.health == "down");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&sources).unwrap_or_default()
        );
    } else {
        for s in &sources {
            let latency = s
                .latency_ms
                .map(|l| format!(" ({l} ms)"))
                .unwrap_or_default();
            println!("{} [{}] {}{latency}", s.name, s.kind, s.health);
            if let Some(d) = &s.description {
                println!("  {d}");
            }
            if let Some(e) = &s.error {
                println!("  error: {e}");
            }
            if !s.tables.is_empty() {
                println!("  tables: {}", s.tables.join(", "));
            }
            if !s.tools.is_empty() {
                println!("  tools:");
                for t in &s.tools {
                    match &t.description {
                        Some(d) => println!(
                            "    {}  -- {}",
                            t.call,
                            d.lines().next().unwrap_or_default()
                        ),
                        None => println!("    {}", t.call),
                    }
                }
            }
            if !s.resources.is_empty() {
                println!("  resources: {}", s.resources.join(", "));
            }
        }
    }
    i32::from(down)
}

pub fn schema_pull(args: &ProjectArgs) -> i32 {
    let options = Options {
        ignore_lock: true,
        ..Options::default()
    };
    let rt = match Runtime::load(&args.project, &env(args), &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let exec = match tokio() {
        Ok(e) => e,
        Err(c) => return c,
    };
    let (pulled, errors) = exec.block_on(widgettdc_runtime::schemas::pull(&rt));
    // the old entries of sources that could not be read are kept
    let mut merged = widgettdc_compiler::project::load(
        &args.project,
        &env(args),
        &mut widgettdc_compiler::Diagnostics::default(),
    )
    .ok()
    .and_then(|p| p.lock.map(|l| widgettdc_runtime::schemas::locked(&l)))
    .unwrap_or_default();
    let tables: usize = pulled.tables.values().map(|t| t.len()).sum();
    let tools: usize = pulled.tools.values().map(|t| t.len()).sum();
    let sources = pulled.sources().len();
    merged.merge(pulled);
    let path = args.project.join(widgettdc_compiler::lock::LOCK_FILE);
    if let Err(e) = std::fs::write(&path, widgettdc_compiler::lock::render(&merged)) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return 2;
    }
    let errors: Vec<RuntimeError> = errors.into_iter().map(|(_, e)| e).collect();
    print_errors(&errors);
    println!(
        "wrote {}: {tables} table(s){} from {sources} source(s){}",
        path.display(),
        if tools > 0 {
            format!(" and {tools} MCP tool(s)")
        } else {
            String::new()
        },
        if errors.is_empty() {
            String::new()
        } else {
            format!(", {} problem(s)", errors.len())
        }
    );
    i32::from(!errors.is_empty())
}
