//! `cargo run --release --example tpch-data -- SF DIR`: the eight TPC-H tables at scale factor
//! SF as Parquet in DIR (generated in-process with tpchgen-arrow; deterministic). The reference
//! answers in `tests/tpch/answers/` were made from these files by `tests/tpch/duckdb_tpch.py`.

#[path = "../support/pg.rs"]
mod pg;
#[path = "../support/tpch.rs"]
mod tpch;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(sf), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tpch-data SF DIR");
        std::process::exit(2);
    };
    let sf: f64 = sf.parse().unwrap_or_else(|_| {
        eprintln!("SF must be a number, e.g. 0.01");
        std::process::exit(2)
    });
    tpch::write_parquet(std::path::Path::new(dir), sf);
}
