"""Runs one SQL query in DuckDB and writes the result as an Arrow IPC file.

Used by the C++ pipeline tests (sabot::testing::QueryDuckDb) to compute reference
answers independently of Sabot.  Usage: duckdb_query.py SQL OUTPUT.arrow
"""
import sys

import duckdb
import pyarrow as pa


def main() -> None:
    sql, output = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    table = con.sql(sql).to_arrow_table()
    # DuckDB may export string_view; Sabot's batches use utf8.
    columns = [
        col.cast(pa.string()) if pa.types.is_string_view(col.type) else col
        for col in table.columns
    ]
    table = pa.table(columns, names=table.column_names)
    with pa.OSFile(output, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main()
