//! Federated TPC-H at scale factor 0.01: lineitem and orders as Parquet, customer/nation/region
//! in the machine's Postgres (a schema of this run's own, dropped afterwards), part/partsupp/
//! supplier in SQLite. All 22 queries run through the runtime in one federated project and each
//! answer is compared with DuckDB's answer to the same query over all-Parquet data
//! (`tests/tpch/answers/sf0.01`, made by `tests/tpch/duckdb_tpch.py answers`).

#[path = "support/pg.rs"]
mod pg;
#[path = "support/tpch.rs"]
mod tpch;

use std::path::PathBuf;

use widgettdc_runtime::{Options, Runtime};

struct Cleanup {
    schema: String,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        tpch::drop_postgres(&self.schema);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn all_22_queries_answer_as_duckdb_does_over_parquet() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema = format!("wt_tpch_{}", std::process::id());
    let dir = std::env::temp_dir().join(&schema);
    let _ = std::fs::remove_dir_all(&dir);
    let cleanup = Cleanup {
        schema: schema.clone(),
        dir: dir.clone(),
    };
    let parquet = dir.join("parquet");
    tpch::write_parquet(&parquet, 0.01);
    tpch::load_postgres(&schema, &parquet, &dir);
    tpch::load_sqlite(&dir.join("tpch.db"), &parquet);
    let project = dir.join("project");
    tpch::write_project(&project, &parquet, &schema, &dir.join("tpch.db"));

    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    let rt = Runtime::load(&project, &env, &Options::default()).expect("the project loads");
    assert!(!rt.has_errors(), "{:?}", rt.diagnostics);
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for (name, sql) in tpch::queries() {
        let sql = tpch::federated(&sql);
        let result = exec.block_on(async {
            let df = rt.query(&sql).await.map_err(|e| e.to_string())?;
            df.collect().await.map_err(|e| e.to_string())
        });
        let expected =
            tpch::read_answer(&root.join(format!("tests/tpch/answers/sf0.01/{name}.csv")));
        match result {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(batches) => {
                let ours = tpch::cells(&batches);
                if ours.is_empty() && !expected.is_empty() {
                    failures.push(format!("{name}: no rows"));
                } else if let Err(e) = tpch::same_answer(&ours, &expected) {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    drop(rt);
    drop(cleanup);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
