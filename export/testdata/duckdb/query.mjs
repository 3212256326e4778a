// Runs SQL statements with DuckDB for the export test (cmd/hoptrace):
// reads a JSON array of statements on stdin, writes a JSON array holding,
// per statement, its rows as objects (BIGINT as strings).
import { DuckDBInstance } from '@duckdb/node-api';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const conn = await (await DuckDBInstance.create(':memory:')).connect();
const out = [];
for (const sql of JSON.parse(input)) {
  const reader = await conn.runAndReadAll(sql);
  out.push(reader.getRowObjectsJson());
}
process.stdout.write(JSON.stringify(out));
