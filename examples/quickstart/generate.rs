//! Writes the quickstart's data: `data/security.db` (SQLite) and `data/metrics.parquet`.
//! The data is deterministic (a fixed seed), so the files in git are what this writes:
//!
//!     cargo run --example quickstart-data
//!
//! Agents come from `data/agents.yml` (ids a-001 … a-008).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

const AGENTS: [&str; 8] = [
    "a-001", "a-002", "a-003", "a-004", "a-005", "a-006", "a-007", "a-008",
];
/// 2026-11-01T00:00:00Z
const START: i64 = 1_793_491_200;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/data");
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);

    // security events: 2,000 over the 14 days from START
    let db_path = dir.join("security.db");
    let _ = std::fs::remove_file(&db_path);
    let mut db = rusqlite::Connection::open(&db_path)?;
    db.execute_batch(
        "CREATE TABLE security_events (
            id INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            severity TEXT NOT NULL,
            category TEXT NOT NULL,
            message TEXT NOT NULL
         );
         CREATE INDEX security_events_ts ON security_events (ts);",
    )?;
    let categories = [
        ("auth", "failed login for service account"),
        ("network", "unexpected outbound connection"),
        ("policy", "tool call denied by policy"),
        ("data", "read of a restricted dataset"),
        ("runtime", "sandbox escape attempt blocked"),
    ];
    let severities = [("low", 50), ("medium", 30), ("high", 15), ("critical", 5)];
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO security_events (agent_id, ts, severity, category, message) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut ts = START;
        for _ in 0..2000 {
            ts += 1 + rng.below(1200) as i64;
            // the security team's agents see more events
            let agent = if rng.below(3) == 0 {
                AGENTS[1 + rng.below(2) as usize]
            } else {
                AGENTS[rng.below(8) as usize]
            };
            let mut roll = rng.below(100);
            let mut severity = "low";
            for (s, weight) in severities {
                if roll < weight {
                    severity = s;
                    break;
                }
                roll -= weight;
            }
            let (category, message) = categories[rng.below(categories.len() as u64) as usize];
            insert.execute(rusqlite::params![
                agent,
                iso(ts),
                severity,
                category,
                message
            ])?;
        }
    }
    tx.commit()?;
    db.execute_batch("VACUUM")?;
    drop(db);

    // metrics: one row per agent per minute for one day
    let mut agent_ids = Vec::new();
    let mut tss = Vec::new();
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    let mut requests = Vec::new();
    for minute in 0..(24 * 60) {
        for (i, agent) in AGENTS.iter().enumerate() {
            agent_ids.push(*agent);
            tss.push((START + minute * 60) * 1_000_000);
            let base = 10.0 + 8.0 * i as f64;
            cpu.push(((base + 20.0 * rng.unit()) * 100.0).round() / 100.0);
            mem.push(((512.0 + 64.0 * i as f64 + 128.0 * rng.unit()) * 10.0).round() / 10.0);
            requests.push(if *agent == "a-005" {
                0
            } else {
                rng.below(500) as i64
            });
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("agent_id", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("cpu", DataType::Float64, true),
        Field::new("memory_mb", DataType::Float64, true),
        Field::new("requests", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(agent_ids)),
            Arc::new(TimestampMicrosecondArray::from(tss)),
            Arc::new(Float64Array::from(cpu)),
            Arc::new(Float64Array::from(mem)),
            Arc::new(Int64Array::from(requests)),
        ],
    )?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(2048))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        File::create(dir.join("metrics.parquet"))?,
        schema,
        Some(props),
    )?;
    w.write(&batch)?;
    w.close()?;
    println!(
        "wrote {} and {}",
        db_path.display(),
        dir.join("metrics.parquet").display()
    );
    Ok(())
}
