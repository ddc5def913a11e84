//! TPC-H data for the federated test (`tests/tpch.rs`), the benchmark (`benches/tpch.rs`) and
//! `cargo run --example tpch-data`: generated in-process with `tpchgen-arrow`, written as
//! Parquet, then spread over the sources a federated project reads: lineitem and orders stay
//! Parquet, customer/nation/region go to Postgres, part/partsupp/supplier to SQLite.
//!
//! The queries are `tests/tpch/queries/qNN.sql`, written with the spec's table names; the
//! federated project names its database tables `pg.<table>` and `lite.<table>`, and
//! [`federated`] rewrites the names in the parsed statement.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;

pub const TABLES: [&str; 8] = [
    "lineitem", "orders", "customer", "nation", "region", "part", "partsupp", "supplier",
];
pub const IN_POSTGRES: [&str; 3] = ["customer", "nation", "region"];
pub const IN_SQLITE: [&str; 3] = ["part", "partsupp", "supplier"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table's rows at scale factor `sf`, as Arrow batches.
pub fn batches(table: &str, sf: f64) -> Box<dyn Iterator<Item = RecordBatch>> {
    use tpchgen::generators::*;
    use tpchgen_arrow::*;
    const BATCH: usize = 64 * 1024;
    match table {
        "lineitem" => Box::new(
            LineItemArrow::new(LineItemGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "orders" => Box::new(
            OrderArrow::new(OrderGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "customer" => Box::new(
            CustomerArrow::new(CustomerGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "nation" => Box::new(
            NationArrow::new(NationGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "region" => Box::new(
            RegionArrow::new(RegionGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "part" => Box::new(
            PartArrow::new(PartGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "partsupp" => Box::new(
            PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        "supplier" => Box::new(
            SupplierArrow::new(SupplierGenerator::new(sf, 1, 1))
                .with_batch_size(BATCH)
                .map(|b| b.expect("tpchgen makes batches")),
        ),
        other => panic!("no TPC-H table {other}"),
    }
}

/// Rows per Parquet row group: DuckDB's default row group, and about what `tpchgen-cli parquet`
/// writes (it aims at 7 MiB per group: lineitem's hold 113,743 rows at SF1, orders' 93,750).
const ROW_GROUP_ROWS: usize = 122_880;

/// Every table as `dir/<table>.parquet` (kept if already there: generation is deterministic),
/// laid out as `tpchgen-cli parquet` lays it out: Snappy-compressed, in row groups of about a
/// hundred thousand rows (not the parquet crate's default of uncompressed 1M-row groups).
pub fn write_parquet(dir: &Path, sf: f64) {
    std::fs::create_dir_all(dir).unwrap();
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet"));
        if path.exists() {
            continue;
        }
        let tmp = path.with_extension("parquet.tmp");
        let mut rows = batches(table, sf).peekable();
        let schema = rows.peek().expect("every table has rows").schema();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&tmp).unwrap(),
            schema,
            Some(props),
        )
        .unwrap();
        for b in rows {
            w.write(&b).unwrap();
        }
        w.close().unwrap();
        std::fs::rename(tmp, path).unwrap();
    }
}

fn read_parquet(dir: &Path, table: &str) -> Vec<RecordBatch> {
    let file = std::fs::File::open(dir.join(format!("{table}.parquet"))).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(64 * 1024)
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn sql_type(t: &arrow::datatypes::DataType) -> &'static str {
    use arrow::datatypes::DataType::*;
    match t {
        Int32 | Int64 => "bigint",
        Decimal128(15, 2) => "numeric(15,2)",
        Date32 => "date",
        _ => "text",
    }
}

use crate::pg::psql;

/// customer, nation and region into a fresh Postgres schema (dropped first), through CSV and
/// `\copy`.
pub fn load_postgres(schema: &str, parquet: &Path, scratch: &Path) {
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ));
    for table in IN_POSTGRES {
        let batches = read_parquet(parquet, table);
        let s = batches[0].schema();
        let columns: Vec<String> = s
            .fields()
            .iter()
            .map(|f| format!("{} {} NOT NULL", f.name(), sql_type(f.data_type())))
            .collect();
        let csv = scratch.join(format!("{table}.csv"));
        {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(std::fs::File::create(&csv).unwrap());
            for b in &batches {
                // arrow-csv writes text views as text once cast
                let cols: Vec<_> = b
                    .columns()
                    .iter()
                    .map(|c| match c.data_type() {
                        arrow::datatypes::DataType::Utf8View => {
                            arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap()
                        }
                        _ => Arc::clone(c),
                    })
                    .collect();
                let fields: Vec<_> = s
                    .fields()
                    .iter()
                    .zip(&cols)
                    .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
                    .collect();
                let b = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), cols)
                    .unwrap();
                w.write(&b).unwrap();
            }
        }
        psql(&format!(
            "CREATE TABLE {schema}.{table} ({})",
            columns.join(", ")
        ));
        psql(&format!(
            "\\copy {schema}.{table} FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ));
        let _ = std::fs::remove_file(csv);
    }
    psql(&format!(
        "ALTER TABLE {schema}.customer ADD PRIMARY KEY (c_custkey);
         ALTER TABLE {schema}.nation ADD PRIMARY KEY (n_nationkey);
         ALTER TABLE {schema}.region ADD PRIMARY KEY (r_regionkey);
         ANALYZE {schema}.customer; ANALYZE {schema}.nation; ANALYZE {schema}.region;"
    ));
}

pub fn drop_postgres(schema: &str) {
    let _ = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
        .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .output();
}

/// part, partsupp and supplier into a new SQLite database (replaced if there).
pub fn load_sqlite(db: &Path, parquet: &Path) {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Decimal128Type, Int32Type, Int64Type};
    let _ = std::fs::remove_file(db);
    let mut conn = rusqlite::Connection::open(db).unwrap();
    for table in IN_SQLITE {
        let batches = read_parquet(parquet, table);
        let s = batches[0].schema();
        let columns: Vec<String> = s
            .fields()
            .iter()
            .map(|f| {
                let t = match f.data_type() {
                    DataType::Int32 | DataType::Int64 => "INTEGER",
                    DataType::Decimal128(15, 2) => "DECIMAL(15,2)",
                    _ => "TEXT",
                };
                format!("{} {t} NOT NULL", f.name())
            })
            .collect();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(&format!("CREATE TABLE {table} ({})", columns.join(", ")))
            .unwrap();
        {
            let marks = vec!["?"; s.fields().len()].join(", ");
            let mut insert = tx
                .prepare(&format!("INSERT INTO {table} VALUES ({marks})"))
                .unwrap();
            for b in &batches {
                for row in 0..b.num_rows() {
                    let values: Vec<rusqlite::types::Value> = b
                        .columns()
                        .iter()
                        .map(|c| match c.data_type() {
                            DataType::Int64 => c.as_primitive::<Int64Type>().value(row).into(),
                            DataType::Int32 => {
                                i64::from(c.as_primitive::<Int32Type>().value(row)).into()
                            }
                            DataType::Decimal128(_, scale) => {
                                let v = c.as_primitive::<Decimal128Type>().value(row);
                                (v as f64 / 10f64.powi(i32::from(*scale))).into()
                            }
                            DataType::Utf8View => c.as_string_view().value(row).to_string().into(),
                            DataType::Utf8 => c.as_string::<i32>().value(row).to_string().into(),
                            other => panic!("unexpected column type {other} in {table}"),
                        })
                        .collect();
                    debug_assert!(b.column(0).is_valid(row));
                    insert.execute(rusqlite::params_from_iter(values)).unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    conn.execute_batch(
        // indexes on the keys (TPC-H allows them on primary and foreign keys), and statistics
        // (`ANALYZE`), without which SQLite takes every index as equally selective: q02's
        // run-time filters on both partsupp keys would then go through ps_suppkey's (~80 rows a
        // key) rather than ps_partkey's (~4 rows a key)
        "CREATE INDEX partsupp_part ON partsupp (ps_partkey);
         CREATE INDEX partsupp_supp ON partsupp (ps_suppkey);
         CREATE UNIQUE INDEX part_key ON part (p_partkey);
         CREATE UNIQUE INDEX supplier_key ON supplier (s_suppkey);
         ANALYZE;",
    )
    .unwrap();
}

/// The federated project: `sources.yaml` in `dir`.
pub fn write_project(dir: &Path, parquet: &Path, pg_schema: &str, sqlite: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("sources.yaml"),
        format!(
            "version: 1
sources:
  lineitem: {{ kind: file, path: '{}' }}
  orders: {{ kind: file, path: '{}' }}
  pg:
    kind: postgres
    url: postgres://postgres@127.0.0.1:5432/test
    schema: {pg_schema}
    tls: {{ mode: disable }}
  lite: {{ kind: sqlite, path: '{}' }}
",
            parquet.join("lineitem.parquet").display(),
            parquet.join("orders.parquet").display(),
            sqlite.display()
        ),
    )
    .unwrap();
}

/// The 22 queries: (name, SQL with the spec's table names).
pub fn queries() -> Vec<(String, String)> {
    (1..=22)
        .map(|n| {
            let name = format!("q{n:02}");
            let path = root().join(format!("tests/tpch/queries/{name}.sql"));
            (name, std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

/// The query with the federated project's table names (`pg.customer`, `lite.part`).
pub fn federated(sql: &str) -> String {
    use datafusion::sql::sqlparser::ast::{visit_relations_mut, Ident, ObjectName};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use std::ops::ControlFlow;
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).expect("the query parses");
    assert_eq!(statements.len(), 1);
    let _ = visit_relations_mut(&mut statements[0], |name: &mut ObjectName| {
        if name.0.len() == 1 {
            let table = name.0[0].to_string().to_ascii_lowercase();
            let source = if IN_POSTGRES.contains(&table.as_str()) {
                Some("pg")
            } else if IN_SQLITE.contains(&table.as_str()) {
                Some("lite")
            } else {
                None
            };
            if let Some(source) = source {
                *name = ObjectName::from(vec![Ident::new(source), Ident::new(table)]);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    statements[0].to_string()
}

/// A result as text cells, the way the reference answers are written (`ArrayFormatter`).
pub fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..b.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    out
}

/// Whether two answers agree: same rows in the same order; numbers within a relative 1e-6
/// (one engine's `avg` of decimals is a double, the other's a decimal), text exactly.
pub fn same_answer(ours: &[Vec<String>], theirs: &[Vec<String>]) -> Result<(), String> {
    if ours.len() != theirs.len() {
        return Err(format!("{} rows, expected {}", ours.len(), theirs.len()));
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a.len() != b.len() {
            return Err(format!(
                "row {i}: {} columns, expected {}",
                a.len(),
                b.len()
            ));
        }
        for (x, y) in a.iter().zip(b) {
            let same = match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => (p - q).abs() <= 1e-6 * p.abs().max(q.abs()).max(1.0),
                _ => x == y,
            };
            if !same {
                return Err(format!("row {i}: {a:?}, expected {b:?}"));
            }
        }
    }
    Ok(())
}

/// A CSV answer file (header skipped) as text cells.
pub fn read_answer(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv_reader(path);
    let mut out = Vec::new();
    let mut header = true;
    for line in r.by_ref() {
        if header {
            header = false;
            continue;
        }
        out.push(line);
    }
    out
}

/// A minimal RFC 4180 reader (quoted fields with `""`), enough for DuckDB's CSV output.
fn csv_reader(path: &Path) -> std::vec::IntoIter<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.into_iter()
}
