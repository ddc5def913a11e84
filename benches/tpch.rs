//! Federated TPC-H: `cargo bench --bench tpch`.
//!
//! lineitem and orders as Parquet, customer/nation/region in the machine's Postgres (schema
//! `wt_tpch_bench`, reloaded each run), part/partsupp/supplier in SQLite. All 22 queries
//! (`tests/tpch/queries`) run through widgettdc's runtime, and in the same run over all-Parquet
//! data through plain DataFusion (`SessionContext` + `register_parquet`, as datafusion-cli)
//! and through DuckDB (PyPI, `tests/tpch/duckdb_tpch.py serve`). Every widgettdc answer is
//! compared with DuckDB's. Per-query medians of `WIDGETTDC_TPCH_RUNS` runs (default 3) after a
//! warm-up run. The engines' runs alternate (widgettdc, DataFusion, DuckDB, DuckDB federated,
//! then again), DuckDB's in processes kept waiting for the next query, so a change in the
//! machine's load between runs does not favour one engine.
//!
//! A second DuckDB column is DuckDB federated as widgettdc is (the same Parquet files, the same
//! Postgres schema, the same SQLite file, through its postgres_scanner and sqlite_scanner
//! extensions). Those extensions come from PyPI as wheels built for DuckDB 1.5.5, so the bench
//! makes a virtualenv with that DuckDB and both wheels in the data directory the first time.
//!
//! Build it as binaries ship: `cargo bench --profile dist --bench tpch` (LTO; see `Cargo.toml`).
//!
//! Environment: `WIDGETTDC_TPCH_SF` (default 1), `WIDGETTDC_BENCH_DIR` (where the generated
//! data is kept between runs; default the system temp dir), `WIDGETTDC_TPCH_QUERIES` (e.g.
//! `q11,q16`: only these; the totals are then of these). `DATAFUSION_*` variables (e.g.
//! `DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`) tune widgettdc's session, as they tune the CLI's.

#[path = "../tests/support/pg.rs"]
mod pg;
#[path = "../tests/support/tpch.rs"]
mod tpch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use widgettdc_runtime::{Options, Runtime};

// The allocator the `widgettdc` binary runs with, configured as it configures it (datafusion-cli
// and the DataFusion Python wheel run with mimalloc too): both engines here share it.
#[path = "../src/allocator.rs"]
mod allocator;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A DuckDB process (`tests/tpch/duckdb_tpch.py serve ...`) that runs one query when asked, so
/// that its runs of a query alternate with widgettdc's and DataFusion's: all three engines are
/// timed under the same load of the machine (a DuckDB run minutes before or after the others
/// moved its total by a fifth on this machine).
struct Duck {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    what: String,
}

impl Duck {
    /// Start it; it returns once DuckDB has written its answers (its warm-up run).
    fn start(python: &Path, args: &[&std::ffi::OsStr]) -> Duck {
        use std::process::Stdio;
        let what = format!("{} duckdb_tpch.py {args:?}", python.display());
        let mut child = std::process::Command::new(python)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tpch/duckdb_tpch.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e} (pip install duckdb)"));
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut duck = Duck {
            child,
            stdin,
            stdout,
            what,
        };
        let line = duck.line();
        assert_eq!(line, "ready", "{}: {line}", duck.what);
        duck
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{}: {e}", self.what));
        assert!(n > 0, "{} ended early (see its error above)", self.what);
        line.trim().to_string()
    }

    /// One run of a query.
    fn time(&mut self, name: &str) -> Duration {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("open until drop");
        writeln!(stdin, "{name}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: {e}", self.what));
        let line = self.line();
        let seconds: f64 = line
            .parse()
            .unwrap_or_else(|_| panic!("{}: {line}", self.what));
        Duration::from_secs_f64(seconds)
    }
}

impl Drop for Duck {
    fn drop(&mut self) {
        // the end of its input ends it
        self.stdin.take();
        let _ = self.child.wait();
    }
}

/// A Python with DuckDB 1.5.5 and its postgres_scanner and sqlite_scanner extension wheels (the
/// newest DuckDB those wheels are built for), made once as a virtualenv under `dir`.
fn duckdb_federated_python(dir: &Path) -> PathBuf {
    let venv = dir.join("duckdb-1.5.5");
    let python = venv.join("bin/python");
    let ready = |python: &PathBuf| {
        std::process::Command::new(python)
            .args([
                "-c",
                "import duckdb, duckdb_extension_postgres_scanner, duckdb_extension_sqlite_scanner; \
                 assert duckdb.__version__ == '1.5.5'",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return python;
    }
    let run = |cmd: &mut std::process::Command| {
        let status = cmd.status().expect("the command starts");
        assert!(status.success(), "{cmd:?} failed");
    };
    run(std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv));
    run(std::process::Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "-q",
        "duckdb==1.5.5",
        "duckdb-extension-postgres-scanner==1.5.5",
        "duckdb-extension-sqlite-scanner==1.5.5",
    ]));
    assert!(
        ready(&python),
        "{} lacks DuckDB 1.5.5 or its extensions",
        venv.display()
    );
    python
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    allocator::configure();
    let sf: f64 = std::env::var("WIDGETTDC_TPCH_SF")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let runs: usize = std::env::var("WIDGETTDC_TPCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let base = std::env::var_os("WIDGETTDC_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("tpch-sf{sf}"));
    let parquet = base.join("parquet");
    let started = Instant::now();
    tpch::write_parquet(&parquet, sf);
    eprintln!("parquet ready in {:.1?}", started.elapsed());
    let schema = "wt_tpch_bench";
    let started = Instant::now();
    tpch::load_postgres(schema, &parquet, &base);
    let sqlite = base.join("tpch.db");
    tpch::load_sqlite(&sqlite, &parquet);
    eprintln!("Postgres and SQLite loaded in {:.1?}", started.elapsed());
    let project = base.join("project");
    tpch::write_project(&project, &parquet, schema, &sqlite);

    // DuckDB first (its own processes), so its answers are there to compare with
    let duck_dir = base.join("duckdb-answers");
    eprintln!("DuckDB over Parquet...");
    let mut duck = Duck::start(
        Path::new("python3"),
        &["serve".as_ref(), parquet.as_os_str(), duck_dir.as_os_str()],
    );
    eprintln!("DuckDB federated (Parquet + Postgres + SQLite)...");
    let fed_dir = base.join("duckdb-federated-answers");
    let mut duck_fed = Duck::start(
        &duckdb_federated_python(base.parent().unwrap()),
        &[
            "serve-federated".as_ref(),
            parquet.as_os_str(),
            schema.as_ref(),
            sqlite.as_os_str(),
            fed_dir.as_os_str(),
        ],
    );

    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // DataFusion settings for widgettdc from DATAFUSION_* variables, as the CLI takes them (the
    // plain DataFusion baseline keeps DataFusion's defaults)
    let env = widgettdc_compiler::decode::Env::from_vars(
        std::env::vars().filter(|(k, _)| k.starts_with("DATAFUSION_")),
    );
    let rt = Runtime::load(&project, &env, &Options::default()).expect("the project loads");
    let plain = SessionContext::new();
    exec.block_on(async {
        for t in tpch::TABLES {
            plain
                .register_parquet(
                    t,
                    parquet.join(format!("{t}.parquet")).to_str().unwrap(),
                    ParquetReadOptions::default(),
                )
                .await
                .unwrap();
        }
    });

    println!(
        "TPC-H SF{sf}, {runs} runs per query (median), widgettdc federated (Parquet + Postgres + SQLite) \
         vs DataFusion and DuckDB over all-Parquet, and DuckDB 1.5.5 federated as widgettdc is"
    );
    println!(
        "{:<5} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8} {:>8}  answer",
        "query", "widgettdc", "DataFusion", "DuckDB", "DuckDB fed", "vs DF", "vs Duck", "vs fed"
    );
    let (mut total_ours, mut total_df, mut total_duck, mut total_fed) = (0.0, 0.0, 0.0, 0.0);
    let mut wrong = Vec::new();
    let only: Option<Vec<String>> = std::env::var("WIDGETTDC_TPCH_QUERIES")
        .ok()
        .map(|s| s.split(',').map(|q| q.trim().to_string()).collect());
    for (name, sql) in tpch::queries() {
        if only.as_ref().is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        let federated = tpch::federated(&sql);
        let run_ours = || {
            exec.block_on(async {
                let t = Instant::now();
                let batches = rt
                    .query(&federated)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .collect()
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                (t.elapsed(), batches)
            })
        };
        let run_plain = || {
            exec.block_on(async {
                let t = Instant::now();
                let batches = plain
                    .sql(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .collect()
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                (t.elapsed(), batches)
            })
        };
        // warm-up, and the answers
        let (_, ours_batches) = run_ours();
        let (_, plain_batches) = run_plain();
        let theirs = tpch::read_answer(&duck_dir.join(format!("{name}.csv")));
        let federated_duck = tpch::read_answer(&fed_dir.join(format!("{name}.csv")));
        let mut verdict = match (
            tpch::same_answer(&tpch::cells(&ours_batches), &theirs),
            tpch::same_answer(&tpch::cells(&plain_batches), &theirs),
        ) {
            (Ok(()), Ok(())) => format!("same ({} rows)", theirs.len()),
            (Err(e), _) => {
                wrong.push(format!("{name}: {e}"));
                format!("DIFFERENT: {e}")
            }
            (Ok(()), Err(e)) => format!("same; DataFusion differs: {e}"),
        };
        if let Err(e) = tpch::same_answer(&federated_duck, &theirs) {
            verdict.push_str(&format!("; federated DuckDB differs: {e}"));
        }
        let (mut ours, mut df, mut dk, mut fed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(run_ours().0);
            df.push(run_plain().0);
            dk.push(duck.time(&name));
            fed.push(duck_fed.time(&name));
        }
        let (o, d) = (ms(median(ours)), ms(median(df)));
        let (k, f) = (ms(median(dk)), ms(median(fed)));
        total_ours += o;
        total_df += d;
        total_duck += k;
        total_fed += f;
        println!(
            "{name:<5} {o:>10.1}ms {d:>10.1}ms {k:>10.1}ms {f:>10.1}ms {:>7.2}x {:>7.2}x {:>7.2}x  {verdict}",
            o / d,
            o / k,
            o / f
        );
    }
    println!(
        "total {total_ours:>10.1}ms {total_df:>10.1}ms {total_duck:>10.1}ms {total_fed:>10.1}ms {:>7.2}x {:>7.2}x {:>7.2}x  \
         (targets: <= 1.5x DataFusion, <= 2x DuckDB)",
        total_ours / total_df,
        total_ours / total_duck,
        total_ours / total_fed
    );
    drop(rt);
    assert!(
        wrong.is_empty(),
        "answers differ from DuckDB's:\n{}",
        wrong.join("\n")
    );
}
