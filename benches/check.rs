//! Benchmark: `check` on a generated project of 1,000 tools over 20 sources.
//!
//! Run with `cargo bench --bench check`. Two measurements:
//! - in process: load + compile, median of several runs, and this process's peak RSS;
//! - the real command: `widgettdc check` on the project written to disk, wall time (median of
//!   several runs) and the child's peak RSS (getrusage).
//!
//! Targets (issue «Spec language, compiler and `widgettdc check`»): < 0.5 s and < 100 MB.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use widgettdc_compiler::diagnostic::Diagnostics;
use widgettdc_compiler::{compile, project, Env, ExternalSchemas, FunctionSet};

const SOURCES: usize = 20;
const TOOLS: usize = 1000;
const TABLES_PER_SOURCE: usize = 5;

/// One spec file per source (with its declared tables) and 10 tool files of 100 tools each.
fn generate() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for s in 0..SOURCES {
        let mut y = format!("version: 1\nsources:\n  src{s}:\n");
        if s % 2 == 0 {
            y.push_str("    kind: postgres\n    url: ${DATABASE_URL:-postgres://localhost/db}\n");
        } else {
            y.push_str("    kind: mysql\n    host: localhost\n    database: db\n");
        }
        y.push_str("    tables:\n");
        for t in 0..TABLES_PER_SOURCE {
            let _ = write!(
                y,
                "      t{t}:\n        columns: {{ id: int64, name: string, region: string, amount: float64, created: timestamp, flag: boolean }}\n"
            );
        }
        files.push((PathBuf::from(format!("sources/src{s}.yaml")), y));
    }
    for chunk in 0..10 {
        let mut y = String::from("tools:\n");
        for i in 0..TOOLS / 10 {
            let n = chunk * (TOOLS / 10) + i;
            let a = n % SOURCES;
            let b = (n + 7) % SOURCES;
            let ta = n % TABLES_PER_SOURCE;
            let tb = (n + 3) % TABLES_PER_SOURCE;
            let _ = write!(
                y,
                "  tool_{n}:\n    description: Revenue by name for a region (generated {n}).\n    parameters:\n      region: {{ type: string, enum: [emea, amer, apac] }}\n      since: {{ type: timestamp, required: false }}\n      limit: {{ type: integer, default: 10, minimum: 1, maximum: 100 }}\n    sql: |\n      SELECT a.name, sum(b.amount) AS revenue, count(*) AS n\n      FROM src{a}.t{ta} a JOIN src{b}.t{tb} b ON a.id = b.id\n      WHERE a.region = $region AND b.created >= $since AND b.flag\n      GROUP BY a.name\n      ORDER BY revenue DESC\n      LIMIT $limit\n"
            );
        }
        files.push((PathBuf::from(format!("tools/tools{chunk}.yaml")), y));
    }
    let mut w = String::from("widgets:\n");
    for i in 0..100 {
        let _ = write!(w, "  board_{i}:\n    data:\n      top: {{ tool: tool_{i}, params: {{ region: emea }}, refresh: 30s }}\n");
    }
    files.push((PathBuf::from("widgets/boards.yaml"), w));
    files
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Peak RSS in MB of the largest child process waited for so far.
fn children_peak_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc == 0 {
        usage.ru_maxrss as f64 / 1024.0
    } else {
        f64::NAN
    }
}

/// Write the project to a fresh directory and time `widgettdc check` on it.
fn run_cli(files: &[(PathBuf, String)]) {
    // WIDGETTDC_BENCH_DIR keeps the generated project there (for profiling); else a temp dir
    let keep = std::env::var_os("WIDGETTDC_BENCH_DIR").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("widgettdc-bench-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("files are in folders")).expect("create dir");
        std::fs::write(&p, text).expect("write spec");
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_widgettdc"))
            .args(["check", "--format", "json", "--project"])
            .arg(&dir)
            .output()
            .expect("run widgettdc");
        times.push(start.elapsed().as_secs_f64());
        assert!(
            out.status.success(),
            "check failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "widgettdc check (the binary): median {:.3} s, min {:.3} s, max {:.3} s; peak RSS {:.1} MB",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        children_peak_rss_mb()
    );
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn main() {
    let files = generate();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let functions = FunctionSet::standard();
    let env = Env::default();
    let baseline = peak_rss_mb().unwrap_or(f64::NAN);
    let mut times = Vec::new();
    let mut load_times = Vec::new();
    let mut diag_count = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut diags = Diagnostics::default();
        let p = project::load_texts(
            &PathBuf::from("."),
            files.clone(),
            None,
            None,
            &env,
            &mut diags,
        );
        load_times.push(start.elapsed().as_secs_f64());
        let compiled = compile::compile(&p, &ExternalSchemas::new(), &functions, &mut diags);
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(compiled.tools.len(), TOOLS);
        assert!(
            compiled.tools.values().all(|t| t.output.is_some()),
            "every tool must be typed"
        );
        diag_count = diags.len();
    }
    run_cli(&files);
    times.sort_by(|a, b| a.total_cmp(b));
    load_times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "in process: {TOOLS} tools over {SOURCES} sources ({} files, {:.1} KiB of YAML): median {:.3} s (of which loading and decoding {:.3} s), min {:.3} s, max {:.3} s; diagnostics {diag_count}; peak RSS {:.1} MB (before checking: {baseline:.1} MB)",
        files.len(),
        bytes as f64 / 1024.0,
        times[times.len() / 2],
        load_times[load_times.len() / 2],
        times[0],
        times[times.len() - 1],
        peak_rss_mb().unwrap_or(f64::NAN),
    );
}
