//! Command-line interface: argument parsing and the commands.
//!
//! Exit codes: 0 success (warnings allowed), 1 problems found in the input (the project, SQL,
//! arguments, a source that fails), 2 usage or IO error (no project to load).

mod check;
mod codegen;
mod run;
mod serve;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "widgettdc",
    version,
    about = "Declarative query compiler and runtime for widgets and AI agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ProjectArgs {
    /// The project directory (spec files directly in it and in sources/, tools/, widgets/).
    #[arg(long, short = 'p', default_value = ".mcp", global = true)]
    pub project: PathBuf,
    /// Treat an unset environment variable without default as an error everywhere.
    #[arg(long, global = true)]
    pub strict_env: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    Github,
    Sarif,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum CompileFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check the project: every problem in one run, each with file:line:col and a fix hint.
    Check {
        #[command(flatten)]
        project: ProjectArgs,
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Also connect to the databases: type SQL against their live schemas and report where
        /// schema.lock.yaml differs from them (E504).
        #[arg(long)]
        live: bool,
    },
    /// Print each tool's and widget's typed plan: parameters as JSON Schema, output as Arrow schema.
    Compile {
        #[command(flatten)]
        project: ProjectArgs,
        #[arg(long, value_enum, default_value_t = CompileFormat::Human)]
        format: CompileFormat,
    },
    /// Run ad-hoc, read-only SQL over every source of the project (joins across sources).
    Query {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        output: run::OutputArgs,
        /// The SQL, e.g. "SELECT * FROM metrics LIMIT 10".
        sql: String,
    },
    /// Run a tool with arguments.
    Run {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        output: run::OutputArgs,
        #[command(flatten)]
        params: run::ParamArgs,
        /// The tool's name.
        tool: String,
    },
    /// Show how a tool or a SQL query runs: what each source is asked (the SQL sent to a
    /// database, the files and predicates of a file scan), and the plans.
    Explain {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        params: run::ParamArgs,
        /// Run the query and show its metrics (rows, row groups pruned, time).
        #[arg(long)]
        analyze: bool,
        /// A tool name, or SQL.
        target: String,
    },
    /// Every source: kind, health (a cheap probe and its latency), tables, and each MCP
    /// server's tools (as table functions) and resources. Exit 1 if a source is down.
    Discover {
        #[command(flatten)]
        project: ProjectArgs,
        #[arg(long, value_enum, default_value_t = CompileFormat::Human)]
        format: CompileFormat,
    },
    /// Serve the tools to AI agents over MCP (stdio, or streamable HTTP at /mcp) and the
    /// widgets over an HTTP/JSON API (/v1), reloading when the project changes.
    Serve {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        serve: serve::ServeArgs,
    },
    /// Generate code from the project: `codegen ts` writes a typed TypeScript client for the
    /// HTTP API of `widgettdc serve`.
    Codegen {
        #[command(subcommand)]
        command: codegen::CodegenCommand,
    },
    /// Live schemas: `schema pull` writes schema.lock.yaml from the sources.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Spec-format utilities.
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Read every table's schema from the live sources (databases, files) and write
    /// schema.lock.yaml, which `check` uses offline. Sources that cannot be read keep their
    /// old entries.
    Pull {
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum SpecCommand {
    /// Print the JSON Schema of spec files (for editors).
    JsonSchema,
    /// List the diagnostic codes.
    Codes,
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check {
            project,
            format,
            live,
        } => check::check(&project, format, live),
        Command::Compile { project, format } => check::compile(&project, format),
        Command::Query {
            project,
            output,
            sql,
        } => run::query(&project, &output, &sql),
        Command::Run {
            project,
            output,
            params,
            tool,
        } => run::run(&project, &output, &params, &tool),
        Command::Explain {
            project,
            params,
            analyze,
            target,
        } => run::explain(&project, &params, &target, analyze),
        Command::Discover { project, format } => {
            run::discover(&project, matches!(format, CompileFormat::Json))
        }
        Command::Serve { project, serve } => serve::serve(&project, &serve),
        Command::Codegen { command } => codegen::run(&command),
        Command::Schema {
            command: SchemaCommand::Pull { project },
        } => run::schema_pull(&project),
        Command::Spec {
            command: SpecCommand::JsonSchema,
        } => {
            let schema = widgettdc_compiler::spec::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            0
        }
        Command::Spec {
            command: SpecCommand::Codes,
        } => {
            for c in widgettdc_compiler::Code::ALL {
                let (code, name, summary) = c.info();
                println!("{code}  {name:<30} {summary}");
            }
            0
        }
    }
}

/// Whether to colour output written to stdout.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The width to render diagnostics at.
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}
