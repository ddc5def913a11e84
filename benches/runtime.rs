//! Benchmark: the runtime's overhead over plain DataFusion, and the memory of a streamed export.
//!
//! Run with `cargo bench --bench runtime` (data are generated once into
//! `$WIDGETTDC_BENCH_DIR`, default `target/bench-runtime`). Measurements:
//!
//! 1. A join of a 10M-row Parquet fact table with a 10,000-row SQLite dimension table,
//!    aggregated: through widgettdc's runtime (`Runtime::query`, the SQLite source streaming
//!    through our provider), and in the same run the same query in plain DataFusion
//!    (`SessionContext::new()` + `register_parquet`, the way `datafusion-cli` runs it; plain
//!    DataFusion cannot read SQLite, so its dimension table is the same rows exported to Parquet).
//!    Also widgettdc over the same two Parquet files, which isolates the layer from the source.
//!    Median of 15 runs each, interleaved, after one warm-up. Target: widgettdc ≤ 1.1× plain DataFusion.
//! 2. `widgettdc query --format csv --output FILE "SELECT * FROM facts"` (10M rows) as a child
//!    process: wall time and peak RSS (getrusage). Target: < 256 MB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use widgettdc_runtime::{Options, Runtime};

const ROWS: usize = 10_000_000;
const DIM: i64 = 10_000;
const QUERY: &str =
    "SELECT d.team, count(*) AS n, sum(f.value) AS total, avg(f.latency_ms) AS latency \
                     FROM facts f JOIN {dim} d ON d.id = f.agent_id \
                     WHERE f.value > 0.25 \
                     GROUP BY d.team ORDER BY d.team";

fn dir() -> PathBuf {
    std::env::var_os("WIDGETTDC_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-runtime"))
}

fn generate(dir: &Path) {
    let facts = dir.join("facts.parquet");
    if facts.exists() && dir.join("dim.db").exists() && dir.join("dim.parquet").exists() {
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    let t = Instant::now();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("agent_id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("value", DataType::Float64, false),
        Field::new("latency_ms", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
    ]));
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&facts).unwrap(),
        Arc::clone(&schema),
        None,
    )
    .unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let chunk = 1 << 20;
    let statuses = ["ok", "ok", "ok", "warn", "error"];
    let mut start = 0;
    while start < ROWS {
        let n = chunk.min(ROWS - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
        let agents: Vec<i64> = (0..n).map(|_| (rnd() % DIM as u64) as i64).collect();
        let ts: Vec<i64> = (start..start + n)
            .map(|i| 1_793_491_200_000_000 + i as i64 * 1_000_000)
            .collect();
        let value: Vec<f64> = (0..n).map(|_| (rnd() % 1_000_000) as f64 / 1e6).collect();
        let latency: Vec<f64> = (0..n).map(|_| (rnd() % 5000) as f64 / 10.0).collect();
        let status: Vec<&str> = (0..n).map(|_| statuses[(rnd() % 5) as usize]).collect();
        let b = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(Int64Array::from(agents)),
                Arc::new(TimestampMicrosecondArray::from(ts)),
                Arc::new(Float64Array::from(value)),
                Arc::new(Float64Array::from(latency)),
                Arc::new(StringArray::from(status)),
            ],
        )
        .unwrap();
        w.write(&b).unwrap();
        start += n;
    }
    w.close().unwrap();

    let teams = [
        "platform",
        "security",
        "data",
        "observability",
        "edge",
        "ml",
    ];
    let _ = std::fs::remove_file(dir.join("dim.db"));
    let mut db = rusqlite::Connection::open(dir.join("dim.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE agents (id INTEGER PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL)",
    )
    .unwrap();
    let tx = db.transaction().unwrap();
    for i in 0..DIM {
        tx.execute(
            "INSERT INTO agents VALUES (?1, ?2, ?3)",
            rusqlite::params![i, format!("agent-{i}"), teams[(i % 6) as usize]],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let dim_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, false),
    ]));
    let b = RecordBatch::try_new(
        Arc::clone(&dim_schema),
        vec![
            Arc::new(Int64Array::from((0..DIM).collect::<Vec<_>>())),
            Arc::new(StringArray::from(
                (0..DIM).map(|i| format!("agent-{i}")).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                (0..DIM)
                    .map(|i| teams[(i % 6) as usize])
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(dir.join("dim.parquet")).unwrap(),
        dim_schema,
        None,
    )
    .unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    std::fs::write(
        dir.join("sources.yaml"),
        "version: 1\nsources:\n  facts: { kind: file, path: facts.parquet }\n  \
         dim: { kind: sqlite, path: dim.db }\n  dimp: { kind: file, path: dim.parquet }\n",
    )
    .unwrap();
    eprintln!("generated {ROWS} rows in {:.1?}", t.elapsed());
}

async fn count_rows(df: datafusion::prelude::DataFrame) -> usize {
    let mut s = df.execute_stream().await.unwrap();
    let mut n = 0;
    while let Some(b) = s.next().await {
        n += b.unwrap().num_rows();
    }
    n
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

const ROUNDS: usize = 15;

/// Run every variant once as a warm-up, then `ROUNDS` rounds taking each variant in turn (so
/// drift in the machine's speed falls on all alike); print and return each median.
fn time_all(variants: &mut [(&str, &mut dyn FnMut() -> usize)]) -> Vec<Duration> {
    for (label, f) in variants.iter_mut() {
        assert_eq!(f(), 6, "{label}: one row per team");
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in variants.iter_mut().enumerate() {
            let t = Instant::now();
            assert_eq!(f(), 6);
            times[i].push(t.elapsed());
        }
    }
    variants
        .iter()
        .zip(times)
        .map(|((label, _), t)| {
            let m = median(t.clone());
            eprintln!(
                "{label:<52} median {:>7.1} ms  (min {:.1}, max {:.1}, {ROUNDS} runs)",
                m.as_secs_f64() * 1e3,
                t.iter().min().unwrap().as_secs_f64() * 1e3,
                t.iter().max().unwrap().as_secs_f64() * 1e3
            );
            m
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--measure-export") {
        measure_export(Path::new(&args[i + 1]));
        return;
    }
    let dir = dir();
    generate(&dir);
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = widgettdc_compiler::Env::from_vars(std::iter::empty());

    let mut ours = || {
        exec.block_on(async {
            let rt = Runtime::load(&dir, &env, &Options::default()).unwrap();
            let df = rt
                .query(&QUERY.replace("{dim}", "dim.agents"))
                .await
                .unwrap();
            count_rows(df).await
        })
    };
    let mut ours_pq = || {
        exec.block_on(async {
            let rt = Runtime::load(&dir, &env, &Options::default()).unwrap();
            let df = rt.query(&QUERY.replace("{dim}", "dimp")).await.unwrap();
            count_rows(df).await
        })
    };
    let mut plain = || {
        exec.block_on(async {
            let ctx = SessionContext::new();
            ctx.register_parquet(
                "facts",
                dir.join("facts.parquet").to_str().unwrap(),
                ParquetReadOptions::default(),
            )
            .await
            .unwrap();
            ctx.register_parquet(
                "dimp",
                dir.join("dim.parquet").to_str().unwrap(),
                ParquetReadOptions::default(),
            )
            .await
            .unwrap();
            let df = ctx.sql(&QUERY.replace("{dim}", "dimp")).await.unwrap();
            count_rows(df).await
        })
    };
    let m = time_all(&mut [
        ("widgettdc: Parquet facts ⋈ SQLite dimension", &mut ours),
        ("widgettdc: Parquet facts ⋈ Parquet dimension", &mut ours_pq),
        (
            "plain DataFusion: Parquet facts ⋈ Parquet dimension",
            &mut plain,
        ),
    ]);
    let (ours, ours_pq, plain) = (m[0], m[1], m[2]);
    eprintln!(
        "ratio widgettdc (SQLite dim) / plain DataFusion: {:.3}×;  widgettdc (Parquet dim) / plain: {:.3}×  (target ≤ 1.1×)",
        ours.as_secs_f64() / plain.as_secs_f64(),
        ours_pq.as_secs_f64() / plain.as_secs_f64()
    );

    postgres_filter(&exec, &dir, &env);

    // The export is measured from a small helper process (this binary again): a child forked
    // from this process would count this process's memory, inherited at fork, as its own peak.
    let status = Command::new(std::env::current_exe().unwrap())
        .arg("--measure-export")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// 3. A filter that matches 0.1% of a 10M-row Postgres table (schema `wt_bench`, created once
///    with psql and kept): the rows widgettdc receives from Postgres against the rows that match.
fn postgres_filter(exec: &tokio::runtime::Runtime, dir: &Path, env: &widgettdc_compiler::Env) {
    let psql = |sql: &str| {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-qtAc",
                sql,
            ])
            .output()
    };
    let exists = match psql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'wt_bench' AND tablename = 'events'",
    ) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim() == "1",
        _ => {
            eprintln!("postgres 0.1% filter: skipped, no PostgreSQL on 127.0.0.1:5432 (psql)");
            return;
        }
    };
    if !exists {
        let t = Instant::now();
        let o = psql(
            "CREATE SCHEMA IF NOT EXISTS wt_bench; CREATE TABLE wt_bench.events AS \
             SELECT g AS id, (g % 1000) AS bucket, md5(g::text) AS h FROM generate_series(1, 10000000) g; ANALYZE wt_bench.events",
        )
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        eprintln!("created wt_bench.events (10M rows) in {:.1?}", t.elapsed());
    }
    let pg_dir = dir.join("pg");
    std::fs::create_dir_all(&pg_dir).unwrap();
    std::fs::write(
        pg_dir.join("sources.yaml"),
        format!(
            "version: 1\nsources:\n  pg: {{ kind: postgres, url: 'postgres://postgres@127.0.0.1:5432/test', schema: wt_bench, tls: {{ mode: disable }} }}\n  dimp: {{ kind: file, path: '{}' }}\n",
            dir.join("dim.parquet").display()
        ),
    )
    .unwrap();
    let matched: usize = String::from_utf8_lossy(
        &psql("SELECT count(*) FROM wt_bench.events WHERE bucket = 7")
            .unwrap()
            .stdout,
    )
    .trim()
    .parse()
    .unwrap();
    let mut times = Vec::new();
    let mut received = 0;
    for _ in 0..5 {
        let t = Instant::now();
        received = exec.block_on(async {
            let rt = Runtime::load(&pg_dir, env, &Options::default()).unwrap();
            // joined with a local file, so the scan is not the whole query: what comes out of
            // the Postgres scan is what crossed the wire
            let df = rt
                .query("SELECT e.id, e.h, d.team FROM pg.events e JOIN dimp d ON d.id = e.bucket WHERE e.bucket = 7")
                .await
                .unwrap();
            let task = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await.unwrap();
            let mut stream =
                datafusion::physical_plan::execute_stream(Arc::clone(&plan), task).unwrap();
            let mut rows = 0;
            while let Some(b) = stream.next().await {
                rows += b.unwrap().num_rows();
            }
            assert_eq!(rows, 10_000, "the join's answer");
            scanned_rows(&plan)
        });
        times.push(t.elapsed());
    }
    eprintln!(
        "postgres 0.1% filter on 10M rows (joined with a Parquet file): {received} rows came from Postgres, {matched} match (target: equal); median {:.0} ms",
        median(times).as_secs_f64() * 1e3
    );
    assert_eq!(
        received, matched,
        "rows received from Postgres differ from the rows that match"
    );
}

/// Rows that came out of the database scans of an executed plan.
fn scanned_rows(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> usize {
    let line = datafusion::physical_plan::displayable(plan.as_ref())
        .one_line()
        .to_string();
    if line.starts_with("SchemaCastScanExec") || line.starts_with("SqlExec") {
        return plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0);
    }
    plan.children().iter().map(|c| scanned_rows(c)).sum()
}

/// Run `widgettdc query --format csv --output FILE "SELECT * FROM facts"` and report its wall
/// time and peak RSS.
fn measure_export(dir: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_widgettdc"));
    let out = dir.join("export.csv");
    let t = Instant::now();
    let status = Command::new(bin)
        .args(["query", "--project"])
        .arg(dir)
        .args(["--format", "csv", "--output"])
        .arg(&out)
        .arg("SELECT * FROM facts")
        .status()
        .unwrap();
    let wall = t.elapsed();
    assert!(status.success());
    let rss = peak_child_rss_mb();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "export {ROWS} rows to CSV ({} MB): {:.1} s, peak RSS {rss:.1} MB (target < 256 MB)",
        size / 1_000_000,
        wall.as_secs_f64()
    );
    let _ = std::fs::remove_file(out);
}

fn peak_child_rss_mb() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we pass.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}
