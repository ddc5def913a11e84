//! The machine's PostgreSQL for tests and benchmarks, through `psql`.

/// Run SQL on the machine's PostgreSQL (127.0.0.1:5432, user postgres, database `test`),
/// stopping at the first error.
pub fn psql(sql: &str) {
    let out = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
