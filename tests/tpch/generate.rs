//! `cargo run --release --example tpch-data -- SF DIR`: the eight TPC-H tables at scale factor
//! SF as Parquet in DIR (generated in-process with tpchgen-arrow; deterministic). The reference
//! answers in `tests/tpch/answers/` were made from these files by `tests/tpch/duckdb_tpch.py`.
//!
//! `... -- SF DIR --federated SCHEMA`: also the bench's federated layout, to look into a query
//! with `widgettdc explain --analyze --project DIR/project "$(cat DIR/queries/q16.sql)"`:
//! customer/nation/region in the machine's Postgres (schema SCHEMA, replaced), part/partsupp/
//! supplier in `DIR/tpch.db`, the project in `DIR/project`, the 22 queries with the project's
//! table names in `DIR/queries`.

#[path = "../support/pg.rs"]
mod pg;
#[path = "../support/tpch.rs"]
mod tpch;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(sf), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tpch-data SF DIR [--federated SCHEMA]");
        std::process::exit(2);
    };
    let sf: f64 = sf.parse().unwrap_or_else(|_| {
        eprintln!("SF must be a number, e.g. 0.01");
        std::process::exit(2)
    });
    let dir = std::path::Path::new(dir);
    let federated = match (args.get(2).map(String::as_str), args.get(3)) {
        (None, _) => None,
        (Some("--federated"), Some(schema)) => Some(schema.clone()),
        _ => {
            eprintln!("usage: tpch-data SF DIR [--federated SCHEMA]");
            std::process::exit(2);
        }
    };
    let Some(schema) = federated else {
        tpch::write_parquet(dir, sf);
        return;
    };
    let parquet = dir.join("parquet");
    tpch::write_parquet(&parquet, sf);
    tpch::load_postgres(&schema, &parquet, dir);
    let sqlite = dir.join("tpch.db");
    tpch::load_sqlite(&sqlite, &parquet);
    tpch::write_project(&dir.join("project"), &parquet, &schema, &sqlite);
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    for (name, sql) in tpch::queries() {
        std::fs::write(queries.join(format!("{name}.sql")), tpch::federated(&sql)).unwrap();
    }
}
