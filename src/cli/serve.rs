//! `widgettdc serve`: the project's tools over MCP (stdio, streamable HTTP) and its widgets
//! over the HTTP/JSON API, with hot reload: when a spec file changes (or on SIGHUP) the project
//! is loaded again and, if it has no errors, put in place; requests already running finish on
//! the project they started with, and MCP sessions are told the tools changed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use widgettdc_compiler::render;
use widgettdc_runtime::{Options, Runtime};
use widgettdc_serve::{ServeOptions, Service};

use super::{width, ProjectArgs};

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Serve MCP over standard input/output (for agents that start widgettdc themselves).
    #[arg(long, value_name = "TRANSPORT", value_parser = ["stdio"])]
    pub mcp: Option<String>,
    /// Serve HTTP on this address: the widget API under /v1 and MCP at /mcp (and
    /// /mcp/<toolset>). Default 127.0.0.1:8700 unless --mcp stdio is given.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve only this toolset's tools (over stdio, and at /mcp).
    #[arg(long)]
    pub toolset: Option<String>,
    /// Switch off POST /v1/query (ad-hoc SQL).
    #[arg(long)]
    pub no_query: bool,
    /// Do not reload the project when its files change.
    #[arg(long)]
    pub no_reload: bool,
}

fn env(args: &ProjectArgs) -> widgettdc_compiler::Env {
    let mut env = widgettdc_compiler::Env::from_vars(std::env::vars());
    env.strict = args.strict_env;
    env
}

/// Why a project cannot be served (or have a client generated).
pub(super) enum Unservable {
    /// It cannot be loaded (exit 2).
    Load(String),
    /// It has errors, rendered (exit 1).
    Errors(String),
}

impl Unservable {
    pub(super) fn exit_code(&self) -> i32 {
        match self {
            Unservable::Load(_) => 2,
            Unservable::Errors(_) => 1,
        }
    }

    pub(super) fn text(&self) -> &str {
        match self {
            Unservable::Load(s) | Unservable::Errors(s) => s,
        }
    }
}

/// Load the project; `Err` if it cannot be loaded or has errors.
pub(super) fn load(args: &ProjectArgs) -> Result<Runtime, Unservable> {
    let rt = Runtime::load(&args.project, &env(args), &Options::default())
        .map_err(|e| Unservable::Load(format!("error: {e}")))?;
    let errors: Vec<_> = rt
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(Unservable::Errors(render::human(
            &errors,
            &rt.project.files,
            false,
            width(),
        )));
    }
    Ok(rt)
}

/// The newest modification time of the project's spec files (and lock file).
fn stamp(dir: &std::path::Path) -> Option<SystemTime> {
    let mut newest: Option<SystemTime> = None;
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    for sub in ["sources", "tools", "widgets"] {
        dirs.push(dir.join(sub));
    }
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
            if !yaml {
                continue;
            }
            if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                newest = Some(newest.map_or(m, |n| n.max(m)));
            }
        }
    }
    newest
}

/// Reload when the files change (polled each second) or on SIGHUP.
async fn watch(args: ProjectArgs, service: Arc<Service>, cancel: CancellationToken) {
    let mut seen = stamp(&args.project);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let forced = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending().await } } => true,
        };
        let now = stamp(&args.project);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        let a = args.clone();
        match tokio::task::spawn_blocking(move || load(&a)).await {
            Ok(Ok(rt)) => {
                service.reload(rt).await;
                eprintln!("widgettdc: reloaded {}", args.project.display());
            }
            Ok(Err(problems)) => eprintln!(
                "widgettdc: not reloaded (still serving the previous version):\n{}",
                problems.text()
            ),
            Err(e) => eprintln!("widgettdc: reload failed: {e}"),
        }
    }
}

pub fn serve(project: &ProjectArgs, args: &ServeArgs) -> i32 {
    let rt = match load(project) {
        Ok(rt) => rt,
        Err(problem) => {
            eprintln!("{}", problem.text());
            if let Unservable::Errors(_) = problem {
                eprintln!(
                    "error: the project has errors, so it cannot be served (run `widgettdc check`)"
                );
            }
            return problem.exit_code();
        }
    };
    let options = ServeOptions {
        query_enabled: !args.no_query,
        toolset: args.toolset.clone(),
    };
    let service = match Service::new(rt, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let exec = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let listen = match (&args.listen, &args.mcp) {
        (Some(a), _) => Some(a.clone()),
        (None, None) => Some("127.0.0.1:8700".to_string()),
        (None, Some(_)) => None,
    };
    let stdio = args.mcp.is_some();
    let cancel = CancellationToken::new();
    let result: Result<(), widgettdc_serve::ServeError> = exec.block_on(async {
        {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                cancel.cancel();
            });
        }
        if !args.no_reload {
            tokio::spawn(watch(project.clone(), Arc::clone(&service), cancel.clone()));
        }
        let http = match &listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    widgettdc_serve::ServeError::Listen {
                        addr: addr.clone(),
                        source: e,
                    }
                })?;
                let local = listener.local_addr()?;
                eprintln!("widgettdc: listening on http://{local} (API /v1, MCP /mcp)");
                Some(tokio::spawn(widgettdc_serve::http::serve(
                    Arc::clone(&service),
                    listener,
                    cancel.clone(),
                )))
            }
            None => None,
        };
        if stdio {
            // the session ends when the client closes stdin: then stop serving HTTP too
            let r = widgettdc_serve::serve_stdio(Arc::clone(&service)).await;
            cancel.cancel();
            if let Some(h) = http {
                let _ = h.await;
            }
            return r;
        }
        match http {
            Some(h) => h
                .await
                .map_err(|e| widgettdc_serve::ServeError::Mcp(e.to_string()))?,
            None => Ok(()),
        }
    });
    // MCP servers that sources started are stopped with the runtime
    drop(service);
    exec.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
