"""DuckDB (from PyPI) over the all-Parquet TPC-H data: the reference engine.

  duckdb_tpch.py answers PARQUET_DIR OUT_DIR   write each query's answer as OUT_DIR/qNN.csv
  duckdb_tpch.py serve PARQUET_DIR OUT_DIR
      write the answers as `answers` does (which also warms DuckDB up), print `ready`, then for
      each query name read from stdin (`q01`) run that query once and print its time in seconds;
      stop at the end of the input. The bench drives it so that DuckDB's runs of a query
      alternate with widgettdc's and DataFusion's, under the same load of the machine.
  duckdb_tpch.py serve-federated PARQUET_DIR PG_SCHEMA SQLITE_DB OUT_DIR
      the same, federated as widgettdc's bench is: lineitem and orders from Parquet,
      customer/nation/region from Postgres (127.0.0.1:5432, user postgres, database test,
      schema PG_SCHEMA) and part/partsupp/supplier from the SQLite file, through DuckDB's
      postgres_scanner and sqlite_scanner extensions. Those come as PyPI wheels
      (duckdb-extension-postgres-scanner, duckdb-extension-sqlite-scanner) built for one DuckDB
      version (1.5.5), so this mode runs in a Python that has that DuckDB and both wheels.

The queries are tests/tpch/queries/qNN.sql, the same text widgettdc runs."""
import glob
import os
import sys
import time

import duckdb

TABLES = ["lineitem", "orders", "customer", "nation", "region", "part", "partsupp", "supplier"]
HERE = os.path.dirname(os.path.abspath(__file__))


def queries():
    """The queries, or only those WIDGETTDC_TPCH_QUERIES names (e.g. `q11,q16`), as the bench."""
    only = os.environ.get("WIDGETTDC_TPCH_QUERIES")
    only = {q.strip() for q in only.split(",")} if only else None
    for path in sorted(glob.glob(os.path.join(HERE, "queries", "q*.sql"))):
        name = os.path.basename(path)[:-4]
        if only is not None and name not in only:
            continue
        lines = [l for l in open(path).read().splitlines() if not l.lstrip().startswith("--")]
        yield name, "\n".join(lines)


def load_extension(con, module):
    """LOAD the extension file a duckdb-extension-* wheel ships (it has no Python code)."""
    import importlib

    where = os.path.dirname(importlib.import_module(module).__file__)
    (path,) = glob.glob(os.path.join(where, "extensions", "*", "*.duckdb_extension"))
    con.execute(f"LOAD '{path}'")


def federate(con, pg_schema, sqlite_db):
    load_extension(con, "duckdb_extension_postgres_scanner")
    load_extension(con, "duckdb_extension_sqlite_scanner")
    con.execute("ATTACH 'host=127.0.0.1 port=5432 user=postgres dbname=test' AS pg (TYPE postgres, READ_ONLY)")
    con.execute(f"ATTACH '{sqlite_db}' AS lite (TYPE sqlite, READ_ONLY)")
    for t in ["customer", "nation", "region"]:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM pg.{pg_schema}.{t}")
    for t in ["part", "partsupp", "supplier"]:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM lite.{t}")


def write_answers(con, out):
    """Each query's answer as OUT/qNN.csv; the queries by name."""
    os.makedirs(out, exist_ok=True)
    sqls = {}
    for name, sql in queries():
        con.execute(f"COPY ({sql}) TO '{out}/{name}.csv' (HEADER, DELIMITER ',')")
        sqls[name] = sql
    return sqls


def serve(con, out):
    sqls = write_answers(con, out)
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name not in sqls:
            print(f"error: no query {name!r}", flush=True)
            continue
        start = time.perf_counter()
        con.execute(sqls[name]).fetchall()
        print(time.perf_counter() - start, flush=True)


def main():
    mode, parquet = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    if mode == "serve-federated":
        pg_schema, sqlite_db, out = sys.argv[3], sys.argv[4], sys.argv[5]
        for t in ["lineitem", "orders"]:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet}/{t}.parquet')")
        federate(con, pg_schema, sqlite_db)
        serve(con, out)
        return
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet}/{t}.parquet')")
    if mode == "answers":
        write_answers(con, sys.argv[3])
    elif mode == "serve":
        serve(con, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")


main()
