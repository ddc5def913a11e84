//! `kind: sqlite`: a SQLite database file; SQL sees its tables as `<source>.<table>` (and
//! `<source>.main.<table>`).
//!
//! Why not `datafusion-table-providers`' SQLite provider: in 0.15 it infers a table's schema
//! from the values of its first row (`SELECT * ... LIMIT 1`, so an empty table or a NULL in the
//! first row gives wrong types) and materialises the whole result of every scan as one record
//! batch. Here the schema comes from the declared/locked columns or the column declarations
//! (`PRAGMA table_info`, by SQLite's affinity rules), results stream in batches from a
//! read-only connection on a blocking thread, and filters, projections and limits become the
//! SQL SQLite runs (see [`pushdown`]).
//!
//! The database is opened on first use, not when the project loads.

pub mod convert;
pub mod dynamic;
pub mod pushdown;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use rusqlite::{Connection, OpenFlags};
use widgettdc_compiler::catalog::CatalogSource;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

/// An opened SQLite source: where it is and its tables' schemas.
#[derive(Debug)]
pub struct SqliteDb {
    pub source: String,
    pub path: PathBuf,
    /// As written in the spec, for messages.
    pub display_path: String,
    pub busy_timeout: Duration,
    /// Table name → schema (declared or locked columns win over the file's declarations).
    pub tables: BTreeMap<String, SchemaRef>,
    /// Table name → estimated row count (the largest rowid: cheap, and an upper bound for
    /// tables without deletions), for the join planner. Absent for views and WITHOUT ROWID
    /// tables.
    pub row_estimates: BTreeMap<String, usize>,
    /// Table name → column → average rows per value, for columns that lead an index, from
    /// `sqlite_stat1` (written by `ANALYZE`); empty without it.
    pub key_rows: BTreeMap<String, BTreeMap<String, f64>>,
}

impl SqliteDb {
    /// Open a read-only connection.
    pub fn connect(&self) -> Result<Connection> {
        connect(
            &self.source,
            &self.path,
            &self.display_path,
            self.busy_timeout,
        )
    }

    pub fn error(&self, e: &rusqlite::Error) -> RuntimeError {
        sqlite_error(&self.source, &self.display_path, e)
    }
}

/// How much of a database file is read through a memory map (`PRAGMA mmap_size`; capped by
/// SQLite at its compile-time limit).
const MMAP_SIZE: i64 = 1 << 40;

pub fn connect(source: &str, path: &Path, display: &str, busy: Duration) -> Result<Connection> {
    if !path.is_file() {
        return Err(RuntimeError::new(
            Code::SourceUnavailable,
            format!("the SQLite database `{display}` of source `{source}` does not exist"),
        )
        .help(format!(
            "check `path:` of source `{source}` (relative paths are relative to the spec file); looked for {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| sqlite_error(source, display, &e))?;
    conn.busy_timeout(busy)
        .map_err(|e| sqlite_error(source, display, &e))?;
    // pages are read from a memory map of the file instead of copied in by a system call each
    // (SQLite's own page cache is 2 MB per connection, and every scan opens one): federated TPC-H's
    // SQLite queries took a fifth less time (q11, looking rows up through an index: 2.2×
    // faster). SQLite maps at most its build's limit (2 GB for rusqlite's bundled build), and
    // remaps as the file grows or shrinks.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)
        .map_err(|e| sqlite_error(source, display, &e))?;
    Ok(conn)
}

/// A SQLite error as a runtime error naming the source.
pub fn sqlite_error(source: &str, display: &str, e: &rusqlite::Error) -> RuntimeError {
    use rusqlite::ErrorCode;
    let code = e.sqlite_error_code();
    let (code, help) = match code {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => (
            Code::SourceUnavailable,
            format!("another process holds a lock on `{display}`; retry, or raise `busy_timeout:` of source `{source}`"),
        ),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => (
            Code::SourceRead,
            format!("`{display}` is not a valid SQLite database: check `path:` of source `{source}`"),
        ),
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => (
            Code::SourceUnavailable,
            format!("check that `{display}` exists and is readable"),
        ),
        _ => (
            Code::SourceRead,
            "the query SQLite was given is shown by `widgettdc explain`".to_string(),
        ),
    };
    RuntimeError::new(code, format!("SQLite source `{source}` (`{display}`): {e}")).help(help)
}

/// The Arrow type for a column declaration, by SQLite's affinity rules
/// (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>), with the common
/// date, time and boolean spellings recognised.
pub fn arrow_type(declared: &str) -> DataType {
    let d = declared.to_ascii_uppercase();
    let base = d.split('(').next().unwrap_or("").trim();
    match base {
        "DATE" => return DataType::Date32,
        "DATETIME" | "TIMESTAMP" | "TIMESTAMPTZ" => {
            return DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        "BOOLEAN" | "BOOL" => return DataType::Boolean,
        "DECIMAL" | "NUMERIC" => {
            if let Some((p, s)) = precision_scale(&d) {
                if (1..=38).contains(&p) && s <= p {
                    return DataType::Decimal128(p, s as i8);
                }
            }
            return DataType::Float64;
        }
        _ => {}
    }
    if d.contains("INT") {
        DataType::Int64
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        DataType::Utf8
    } else if d.contains("BLOB") {
        DataType::Binary
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        DataType::Float64
    } else if d.is_empty() {
        // no declared type: values are shown as text
        DataType::Utf8
    } else {
        // NUMERIC affinity
        DataType::Float64
    }
}

fn precision_scale(d: &str) -> Option<(u8, u8)> {
    let inner = d.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<u8>().ok());
    let p = parts.next()??;
    let s = parts.next().flatten().unwrap_or(0);
    Some((p, s))
}

/// Read the tables of a database (declared schemas win).
pub fn open(
    source: &str,
    path: PathBuf,
    display_path: String,
    busy_timeout: Duration,
    declared: Option<&CatalogSource>,
) -> Result<SqliteDb> {
    let conn = connect(source, &path, &display_path, busy_timeout)?;
    let err = |e: rusqlite::Error| sqlite_error(source, &display_path, &e);
    let mut names = Vec::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .map_err(err)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
        for r in rows {
            names.push(r.map_err(err)?);
        }
    }
    let mut tables = BTreeMap::new();
    let mut row_estimates = BTreeMap::new();
    let mut key_rows = BTreeMap::new();
    for name in names {
        let known = declared.and_then(|d| d.tables.get(&(None, name.clone())));
        let schema = match known {
            Some(t) => Arc::clone(&t.schema),
            None => {
                let mut stmt = conn
                    .prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)")
                    .map_err(err)?;
                let cols = stmt
                    .query_map([&name], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, bool>(2)?,
                        ))
                    })
                    .map_err(err)?;
                let mut fields = Vec::new();
                for c in cols {
                    let (col, ty, notnull) = c.map_err(err)?;
                    fields.push(Field::new(col, arrow_type(&ty), !notnull));
                }
                Arc::new(Schema::new(fields))
            }
        };
        let estimate: Option<i64> = conn
            .query_row(
                &format!("SELECT max(_rowid_) FROM {}", pushdown::ident(&name)),
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .ok()
            .flatten();
        if let Some(n) = estimate.and_then(|n| usize::try_from(n).ok()) {
            row_estimates.insert(name.clone(), n);
        }
        let keys = index_key_rows(&conn, &name);
        if !keys.is_empty() {
            key_rows.insert(name.clone(), keys);
        }
        tables.insert(name, schema);
    }
    Ok(SqliteDb {
        source: source.to_string(),
        path,
        display_path,
        busy_timeout,
        tables,
        row_estimates,
        key_rows,
    })
}

/// For each column that leads an index of `table`: the average rows per value, as `ANALYZE`
/// recorded it in `sqlite_stat1` (the second number of an index's `stat`). Empty when the
/// database was never analysed.
fn index_key_rows(conn: &Connection, table: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(mut stmt) = conn.prepare(
        "SELECT i.name, s.stat FROM sqlite_stat1 s JOIN pragma_index_info(s.idx) i \
         WHERE s.tbl = ?1 AND i.seqno = 0",
    ) else {
        return out;
    };
    let Ok(rows) = stmt.query_map([table], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
    }) else {
        return out;
    };
    for (column, stat) in rows.flatten() {
        let per_key = stat
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<f64>().ok());
        if let (Some(column), Some(per_key)) = (column, per_key) {
            let kept = out.entry(column).or_insert(per_key);
            *kept = f64::min(*kept, per_key);
        }
    }
    out
}

/// The schema provider of one SQLite source: tables appear on first use.
#[derive(Debug)]
pub struct SqliteSchema {
    source: String,
    path: PathBuf,
    display_path: String,
    busy_timeout: Duration,
    declared: Option<CatalogSource>,
    db: OnceLock<Arc<SqliteDb>>,
    /// Serialises the first open.
    opening: Mutex<()>,
    batch_size: usize,
}

impl SqliteSchema {
    pub fn new(
        source: &str,
        path: PathBuf,
        display_path: String,
        busy_timeout: Duration,
        declared: Option<CatalogSource>,
        batch_size: usize,
    ) -> Self {
        SqliteSchema {
            source: source.to_string(),
            path,
            display_path,
            busy_timeout,
            declared,
            db: OnceLock::new(),
            opening: Mutex::new(()),
            batch_size,
        }
    }

    /// The opened database (opened now if this is the first use). Failures are not cached: a
    /// database that appears later is found on the next query.
    pub fn db(&self) -> Result<Arc<SqliteDb>> {
        if let Some(db) = self.db.get() {
            return Ok(Arc::clone(db));
        }
        let _guard = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = self.db.get() {
            return Ok(Arc::clone(db));
        }
        let db = Arc::new(open(
            &self.source,
            self.path.clone(),
            self.display_path.clone(),
            self.busy_timeout,
            self.declared.as_ref(),
        )?);
        let _ = self.db.set(Arc::clone(&db));
        Ok(db)
    }
}

#[async_trait]
impl SchemaProvider for SqliteSchema {
    fn table_names(&self) -> Vec<String> {
        match self.db() {
            Ok(db) => db.tables.keys().cloned().collect(),
            // listing cannot fail: fall back to what the spec declares
            Err(_) => self
                .declared
                .as_ref()
                .map(|d| {
                    d.tables
                        .keys()
                        .filter(|(s, _)| s.is_none())
                        .map(|(_, t)| t.clone())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        // opening is quick (a file and its schema table); it may wait up to `busy_timeout` on a lock
        let db = self.db().map_err(RuntimeError::into_datafusion)?;
        let Some(schema) = db.tables.get(name) else {
            return Ok(None);
        };
        Ok(Some(Arc::new(table::SqliteTable::new(
            Arc::clone(&db),
            name.to_string(),
            Arc::clone(schema),
            self.batch_size,
        ))))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules() {
        assert_eq!(arrow_type("INTEGER"), DataType::Int64);
        assert_eq!(arrow_type("varchar(20)"), DataType::Utf8);
        assert_eq!(arrow_type("DOUBLE PRECISION"), DataType::Float64);
        assert_eq!(
            arrow_type("TIMESTAMP"),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(arrow_type("DATE"), DataType::Date32);
        assert_eq!(arrow_type("decimal(10,2)"), DataType::Decimal128(10, 2));
        assert_eq!(arrow_type("BLOB"), DataType::Binary);
        assert_eq!(arrow_type(""), DataType::Utf8);
    }

    #[test]
    fn connections_read_through_a_memory_map() {
        let path = std::env::temp_dir().join(format!("wt-mmap-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let rw = Connection::open(&path).unwrap();
        rw.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        drop(rw);
        let conn = connect("s", &path, "t.db", Duration::from_secs(1)).unwrap();
        let mapped: i64 = conn
            .query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap();
        let sum: i64 = conn
            .query_row("SELECT sum(x) FROM t", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        std::fs::remove_file(&path).unwrap();
        // SQLite caps the request at its build's limit
        assert!(mapped >= 1 << 30, "mmap_size {mapped}");
        assert_eq!(sum, 3);
    }
}
