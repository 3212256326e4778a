// Package export writes an incident's analysis as a Parquet dataset for
// the query engines users already run (DuckDB, Spark, Trino, ClickHouse).
//
// The pipeline: cmd passes Writer.Trace to analyze.Options.Trace, so the
// analysis hands over each packet as soon as no later sighting can join
// it. Trace writes one sightings row per hop at once, into the partition
// of its node and hour, and spools a compact record of the packet (flow,
// path as hop numbers, times, drop-evidence number). When the analysis
// returns, Finish takes its Result: it corrects hop names that a later
// capture made ambiguous (analyze qualifies a hop with its node when
// another node has the same capture point), writes the packets table
// from the spool with each packet's verdict (Result.Fate: delivered,
// dropped where and why), then the small tables (flows, hop_pairs,
// findings, captures, clocks, encap), and moves the incident out of its
// staging directory into the dataset.
//
// Layout, schema version SchemaVersion, Hive-style partitions:
//
//	OUTDIR/sightings/incident=NAME/node=NODE/hour=2006-01-02T15/part-NNNNN.parquet
//	OUTDIR/packets/incident=NAME/hour=2006-01-02T15/part-NNNNN.parquet
//	OUTDIR/TABLE/incident=NAME/part-00000.parquet  (the other tables)
//
// The row types (Sighting, Packet, Flow, HopPair, Finding, Capture,
// Clock, Encap) are the schema: their struct tags name the columns and
// their Parquet types. README.md documents them for users.
//
// Memory is bounded by the analysis' correlation window plus one row
// group per open partition, whatever the size of the incident. Package
// export writes only inside OUTDIR and refuses an OUTDIR holding inputs.
package export
