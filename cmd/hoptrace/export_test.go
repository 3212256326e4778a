package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/export"
	"github.com/hoptrace/hoptrace/internal/labtruth"
)

// duckdbDir holds the npm package of DuckDB the export test reads with
// (.ci/run installs it with npm ci).
var duckdbDir = filepath.Join("..", "..", "export", "testdata", "duckdb")

// duckdb runs SQL statements with DuckDB through Node and returns each
// statement's rows. It skips the test, saying why, when Node or the
// package is missing, unless HOPTRACE_REQUIRE_DUCKDB is set (as .ci/run
// does), where it fails instead.
func duckdb(t *testing.T, stmts []string) [][]map[string]any {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("HOPTRACE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("%s, and HOPTRACE_REQUIRE_DUCKDB is set", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not installed: DuckDB runs through its npm package @duckdb/node-api")
	}
	if _, err := os.Stat(filepath.Join(duckdbDir, "node_modules", "@duckdb", "node-api")); err != nil {
		missing("@duckdb/node-api not installed: run npm ci --prefix export/testdata/duckdb")
	}
	in, err := json.Marshal(stmts)
	require.NoError(t, err)
	cmd := exec.Command(node, "query.mjs")
	cmd.Dir = duckdbDir
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "duckdb: %s", stderr.String())
	var res [][]map[string]any
	require.NoError(t, json.Unmarshal(out, &res))
	require.Len(t, res, len(stmts))
	return res
}

// readmeQueries returns the SQL examples of README.md by their first
// line's comment.
func readmeQueries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```sql\n-- ([^\n]+)\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		require.NoError(t, err)
		return n
	case float64:
		return int64(x)
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return v.(string)
}

// TestExportDuckDB exports two lab incidents into one dataset, runs the
// README's DuckDB queries on it and holds every number against
// hoptrace analyze -o json of the same captures.
func TestExportDuckDB(t *testing.T) {
	queries := readmeQueries(t)
	for _, name := range []string{"p99 per hop pair", "drops by flow", "the slowest packets' paths", "packets per path", "retransmissions by flow"} {
		require.Contains(t, queries, name, "README.md's DuckDB examples")
	}
	ds := t.TempDir()
	incidents := []string{"drops", "service-dnat"}
	results := map[string]*analyze.Result{}
	for _, inc := range incidents {
		dir := filepath.Join("..", "..", "testdata", "captures", inc)
		if _, err := os.Stat(dir); err != nil {
			t.Skip("no lab captures")
		}
		code, stdout, stderr := hoptrace(t, "export", dir, "--out", ds)
		require.Contains(t, []int{exitOK, exitProblems}, code, stderr)
		require.Contains(t, stdout, `exported incident "`+inc+`"`)
		code, stdout, stderr = hoptrace(t, "analyze", "-o", "json", dir)
		require.Contains(t, []int{exitOK, exitProblems}, code, stderr)
		var r analyze.Result
		require.NoError(t, json.Unmarshal([]byte(stdout), &r))
		results[inc] = &r
	}
	var stmts []string
	for _, inc := range incidents {
		for _, name := range []string{"p99 per hop pair", "drops by flow", "the slowest packets' paths", "packets per path", "retransmissions by flow"} {
			q := strings.ReplaceAll(queries[name], "'dataset/", "'"+filepath.ToSlash(ds)+"/")
			stmts = append(stmts, strings.ReplaceAll(q, "incident = 'drops'", "incident = '"+inc+"'"))
		}
	}
	got := duckdb(t, stmts)
	for i, inc := range incidents {
		r := results[inc]
		rows := got[5*i:]
		t.Run(inc, func(t *testing.T) {
			// p99 per hop pair: the same pairs, counts and percentiles.
			type pair struct{ packets, p99 int64 }
			want, have := map[string]pair{}, map[string]pair{}
			for _, h := range r.Hops {
				if h.Packets > 0 {
					want[h.From+" > "+h.To+" "+h.Direction.String()] = pair{int64(h.Packets), h.P99NS}
				}
			}
			for _, row := range rows[0] {
				have[str(row["from_hop"])+" > "+str(row["to_hop"])+" "+str(row["direction"])] = pair{num(t, row["packets"]), num(t, row["p99_ns"])}
			}
			require.NotEmpty(t, want)
			assert.ElementsMatch(t, slices.Collect(mapKeys(want)), slices.Collect(mapKeys(have)))
			for k, w := range want {
				h := have[k]
				assert.Equal(t, w.packets, h.packets, "packets of %s", k)
				if w.packets <= 4096 {
					assert.Equal(t, w.p99, h.p99, "p99 of %s", k)
				} else {
					// Past 4,096 samples analyze reports the lower bound
					// of a bucket at most 1/64 wide.
					assert.True(t, w.p99 <= h.p99 && h.p99 <= w.p99+w.p99/64+1, "p99 of %s: analyze %d, exact %d", k, w.p99, h.p99)
				}
			}

			// Drops by flow: the same drops, packet for packet.
			wantDrops, haveDrops := map[string]int64{}, map[string]int64{}
			for _, d := range r.Drops {
				wantDrops[export.FlowName(d.Proto, d.Flow)+" "+d.Direction.String()+" "+d.From+" > "+d.To+" "+d.Reason.String()] += int64(d.Packets)
			}
			for _, row := range rows[1] {
				haveDrops[str(row["flow"])+" "+str(row["direction"])+" "+str(row["drop_from"])+" > "+str(row["drop_to"])+" "+str(row["drop_reason"])] += num(t, row["packets"])
			}
			assert.Equal(t, wantDrops, haveDrops)
			if inc == "drops" {
				// The kernel's iptables counters of the scenario.
				total := int64(0)
				for _, n := range haveDrops {
					total += n
				}
				assert.Equal(t, int64(labtruth.Read(t, filepath.Join("..", "..", "testdata", "captures", inc)).Dropped()), total)
			}

			// Retransmissions per flow direction, as the flows count them.
			wantRe, haveRe := map[string]int64{}, map[string]int64{}
			for _, f := range r.Flows {
				if f.Tunnel != "" {
					continue
				}
				for d, n := range map[string]int{"orig": f.OrigStats.Retransmits, "reply": f.ReplStats.Retransmits} {
					if n > 0 {
						wantRe[export.FlowName(f.Proto, f.Orig)+" "+d] += int64(n)
					}
				}
			}
			for _, row := range rows[4] {
				haveRe[str(row["flow"])+" "+str(row["direction"])] = num(t, row["packets"])
			}
			assert.Equal(t, wantRe, haveRe)
			if inc == "drops" {
				assert.NotEmpty(t, wantRe, "the drop rules make the TCP sender retransmit")
			}

			// Packets per path.
			wantPaths, havePaths := map[string]int64{}, map[string]int64{}
			paths := map[string][]string{}
			for _, p := range r.Paths {
				k := export.FlowName(p.Proto, p.Flow) + " " + p.Direction.String()
				wantPaths[k] += int64(p.Packets)
				paths[k] = p.Hops
			}
			for _, row := range rows[3] {
				havePaths[str(row["flow"])+" "+str(row["direction"])] = num(t, row["packets"])
			}
			assert.Equal(t, wantPaths, havePaths)

			// The slowest packets: slowest first, each path among the hops
			// of its flow direction's path in analyze. (Their order may
			// differ where taps share a timestamp: a packet's ties are
			// ordered by what the packets before it showed, the path's by
			// all of them.)
			require.NotEmpty(t, rows[2])
			prev := int64(1 << 62)
			for _, row := range rows[2] {
				span := num(t, row["span_ns"])
				assert.LessOrEqual(t, span, prev)
				prev = span
				k := str(row["flow"]) + " " + str(row["direction"])
				require.Contains(t, paths, k)
				var hops []string
				for _, h := range row["path"].([]any) {
					hops = append(hops, h.(string))
				}
				assert.Subset(t, paths[k], hops, "packet %v", row["packet_id"])
				assert.Len(t, hops, len(slices.Compact(slices.Sorted(slices.Values(hops)))), "packet %v: each hop once", row["packet_id"])
				assert.Contains(t, []string{"delivered", "dropped", "unjudged"}, str(row["verdict"]))
			}
		})
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestExportRefusesInputs: a dataset directory holding the incident's
// captures is refused before anything is written there.
func TestExportRefusesInputs(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "captures", "df-ping")
	if _, err := os.Stat(src); err != nil {
		t.Skip("no lab captures")
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	list := func() []string {
		var out []string
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
			out = append(out, p)
			return nil
		})
		return out
	}
	before := list()
	for _, out := range []string{dir, filepath.Join(dir, "node-1")} {
		code, _, stderr := hoptrace(t, "export", dir, "--out", out)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "holds input")
	}
	assert.Equal(t, before, list(), "nothing written beside the inputs")
	code, _, stderr := hoptrace(t, "export", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--out")
}

// TestExportIncidents: incidents share a dataset by name; the same name
// again is refused unless --replace, which replaces it.
func TestExportIncidents(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "captures", "df-ping")
	if _, err := os.Stat(src); err != nil {
		t.Skip("no lab captures")
	}
	ds := t.TempDir()
	code, _, stderr := hoptrace(t, "export", src, "--out", ds)
	require.Contains(t, []int{exitOK, exitProblems}, code, stderr)
	code, _, stderr = hoptrace(t, "export", src, "--out", ds, "--incident", "again/2")
	require.Contains(t, []int{exitOK, exitProblems}, code, stderr)
	for _, tab := range export.Tables {
		for _, inc := range []string{"incident=df-ping", "incident=again%2F2"} {
			assert.DirExists(t, filepath.Join(ds, tab, inc))
		}
	}
	code, _, stderr = hoptrace(t, "export", src, "--out", ds)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "already holds incident")
	code, _, stderr = hoptrace(t, "export", src, "--out", ds, "--replace")
	require.Contains(t, []int{exitOK, exitProblems}, code, stderr)
	entries, err := os.ReadDir(ds)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "."), "staging directory %s left behind", e.Name())
	}
	parts, err := filepath.Glob(filepath.Join(ds, export.TableSightings, "incident=df-ping", "node=*", "hour=*", "*.parquet"))
	require.NoError(t, err)
	assert.NotEmpty(t, parts)
}
