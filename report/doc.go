// Package report renders hoptrace's results: decoded packets (text, JSON),
// an analysis (table, Markdown, JSON, HTML), the flow table (conntrack -L
// style, table, Markdown, JSON).
//
// The pipeline of an analysis report: analyze.Result comes in; BuildModel
// computes the one section model every human-readable format reads (the
// verdict and its causes with evidence and next step, the incident's window
// and coverage, the clocks, a waterfall per path, the tables); the table,
// Markdown and HTML renderers only lay that model out, and JSON writes the
// Result with the model's verdict, window and coverage in front. The HTML
// report may also get a PacketLog, fed by analyze's Trace hook, for the
// per-packet ladder and the drops/retransmissions strip; what became of
// each packet is the analysis' own answer (Result.Fate). Nothing here reads
// files or re-parses another renderer's text: it reads only what decode
// and analyze produce and writes to the writer it is given.
package report
