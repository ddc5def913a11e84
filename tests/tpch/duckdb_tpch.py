"""DuckDB (from PyPI) over the all-Parquet TPC-H data: the reference engine.

  duckdb_tpch.py answers PARQUET_DIR OUT_DIR   write each query's answer as OUT_DIR/qNN.csv
  duckdb_tpch.py time PARQUET_DIR RUNS OUT_DIR also time each query RUNS times (after one
                                               warm-up run) and print {"qNN": [seconds...]}
  duckdb_tpch.py time-federated PARQUET_DIR PG_SCHEMA SQLITE_DB RUNS OUT_DIR
      the same, federated as widgettdc's bench is: lineitem and orders from Parquet,
      customer/nation/region from Postgres (127.0.0.1:5432, user postgres, database test,
      schema PG_SCHEMA) and part/partsupp/supplier from the SQLite file, through DuckDB's
      postgres_scanner and sqlite_scanner extensions. Those come as PyPI wheels
      (duckdb-extension-postgres-scanner, duckdb-extension-sqlite-scanner) built for one DuckDB
      version (1.5.5), so this mode runs in a Python that has that DuckDB and both wheels.

The queries are tests/tpch/queries/qNN.sql, the same text widgettdc runs."""
import glob
import json
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


def time_queries(con, runs, out):
    os.makedirs(out, exist_ok=True)
    times = {}
    for name, sql in queries():
        con.execute(f"COPY ({sql}) TO '{out}/{name}.csv' (HEADER, DELIMITER ',')")
        times[name] = []
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times[name].append(time.perf_counter() - start)
    print(json.dumps(times))


def main():
    mode, parquet = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    if mode == "time-federated":
        pg_schema, sqlite_db, runs, out = sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
        for t in ["lineitem", "orders"]:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet}/{t}.parquet')")
        federate(con, pg_schema, sqlite_db)
        time_queries(con, runs, out)
        return
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet}/{t}.parquet')")
    if mode == "answers":
        out = sys.argv[3]
        os.makedirs(out, exist_ok=True)
        for name, sql in queries():
            con.execute(f"COPY ({sql}) TO '{out}/{name}.csv' (HEADER, DELIMITER ',')")
    elif mode == "time":
        time_queries(con, int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(f"unknown mode {mode}")


main()
