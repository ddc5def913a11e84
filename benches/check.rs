//! Benchmark: `check` on a generated project of 1,000 tools over 20 sources.
//!
//! Run with `cargo bench -p widgettdc-compiler --bench check`. Prints the wall time of a
//! full load + compile (median of several runs) and the process's peak RSS.
//! Targets (issue «Spec language, compiler and `widgettdc check`»): < 0.5 s and < 100 MB.

use std::fmt::Write as _;
use std::path::PathBuf;
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

fn main() {
    let files = generate();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let functions = FunctionSet::datafusion_defaults();
    let env = Env::default();
    let mut times = Vec::new();
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
        let compiled = compile::compile(&p, &ExternalSchemas::new(), &functions, &mut diags);
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(compiled.tools.len(), TOOLS);
        assert!(
            compiled.tools.values().all(|t| t.output.is_some()),
            "every tool must be typed"
        );
        diag_count = diags.len();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "check: {TOOLS} tools over {SOURCES} sources ({} files, {:.1} KiB of YAML): median {:.3} s, min {:.3} s, max {:.3} s; diagnostics {diag_count}; peak RSS {:.1} MB",
        files.len(),
        bytes as f64 / 1024.0,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        peak_rss_mb().unwrap_or(f64::NAN),
    );
}
