"""DuckDB (from PyPI) over the all-Parquet TPC-H data: the reference engine.

  duckdb_tpch.py answers PARQUET_DIR OUT_DIR   write each query's answer as OUT_DIR/qNN.csv
  duckdb_tpch.py time PARQUET_DIR RUNS OUT_DIR also time each query RUNS times (after one
                                               warm-up run) and print {"qNN": [seconds...]}

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
    for path in sorted(glob.glob(os.path.join(HERE, "queries", "q*.sql"))):
        name = os.path.basename(path)[:-4]
        lines = [l for l in open(path).read().splitlines() if not l.lstrip().startswith("--")]
        yield name, "\n".join(lines)


def main():
    mode, parquet = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet}/{t}.parquet')")
    if mode == "answers":
        out = sys.argv[3]
        os.makedirs(out, exist_ok=True)
        for name, sql in queries():
            con.execute(f"COPY ({sql}) TO '{out}/{name}.csv' (HEADER, DELIMITER ',')")
    elif mode == "time":
        runs, out = int(sys.argv[3]), sys.argv[4]
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
    else:
        sys.exit(f"unknown mode {mode}")


main()
