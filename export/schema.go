package export

// SchemaVersion names the layout of the dataset: its tables, their
// partitions and columns. Columns are only ever added within a version;
// one that changes meaning or disappears makes a new version. Every file
// carries it in its key-value metadata under SchemaKey.
const SchemaVersion = "hoptrace.parquet/v1"

// SchemaKey is the key of SchemaVersion in each file's metadata.
const SchemaKey = "hoptrace.schema"

// The tables of a dataset, each a directory of OUTDIR. Every table is
// partitioned by incident (incident=NAME); sightings also by node and
// hour, packets by hour. Partition columns are in the path only, never in
// the files, as Hive, Spark, Trino and DuckDB expect.
const (
	TableSightings = "sightings"
	TablePackets   = "packets"
	TableFlows     = "flows"
	TableHopPairs  = "hop_pairs"
	TableFindings  = "findings"
	TableCaptures  = "captures"
	TableClocks    = "clocks"
	TableEncap     = "encap"
)

// Tables lists every table a dataset holds.
var Tables = []string{TableSightings, TablePackets, TableFlows, TableHopPairs, TableFindings, TableCaptures, TableClocks, TableEncap}

// Sighting is one row of the sightings table: one packet seen at one hop.
// Partitions: incident, node (the capture's node), hour (of TS, UTC,
// 2006-01-02T15).
type Sighting struct {
	PacketID int64  `parquet:"packet_id,delta"`
	Seq      int32  `parquet:"seq"` // position in the packet's path order, from 0
	Flow     string `parquet:"flow,dict"`
	// Direction of the packet in its flow: orig or reply.
	Direction string `parquet:"direction,dict"`
	Hop       string `parquet:"hop,dict"`   // hop name, as analyze names it
	Point     string `parquet:"point,dict"` // the capture point on the node
	// TS is the reference time: the node's clock corrected by its
	// estimated offset (clocks table).
	TS int64 `parquet:"ts,timestamp(nanosecond:local),delta"`
	// PrevHop and SincePrevNS: the previous hop of the path and the time
	// since the packet was seen there, the sample this hop pair's latency
	// (hop_pairs) counts when not negative; null at the first hop and for
	// further pieces (GSO segments, fragments) of a packet at one hop.
	PrevHop     *string `parquet:"prev_hop,optional,dict"`
	SincePrevNS *int64  `parquet:"since_prev_ns,optional"`
	// IPLen is the innermost IP packet's total length; Overhead the bytes
	// tunnels add around it here (outer IP length = IPLen + Overhead).
	IPLen    int32 `parquet:"ip_len"`
	Overhead int32 `parquet:"overhead"`
	// Tunnel is the outermost tunnel around the packet here (vxlan, ipip,
	// geneve, ...), null when not tunneled.
	Tunnel   *string `parquet:"tunnel,optional,dict"`
	TTL      int32   `parquet:"ttl"`       // innermost IP TTL or hop limit
	TCPFlags int32   `parquet:"tcp_flags"` // FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128
	DF       bool    `parquet:"df"`
	MF       bool    `parquet:"mf"`
	Fragment bool    `parquet:"fragment"`
	// Capture and CaptureIndex find the packet in its capture file: the
	// file as given to hoptrace and the packet's position there, from 0.
	Capture      string `parquet:"capture,dict"`
	CaptureIndex int64  `parquet:"capture_index,delta"`
}

// Packet is one row of the packets table: one packet followed across
// hops. Partitions: incident, hour (of FirstTS, UTC).
type Packet struct {
	PacketID  int64  `parquet:"packet_id,delta"`
	Flow      string `parquet:"flow,dict"`
	Direction string `parquet:"direction,dict"`
	// Path is the hops that saw it, in path order, each once.
	Path      []string `parquet:"path,list"`
	FirstHop  string   `parquet:"first_hop,dict"`
	LastHop   string   `parquet:"last_hop,dict"`
	Sightings int32    `parquet:"sightings"` // rows in the sightings table
	FirstTS   int64    `parquet:"first_ts,timestamp(nanosecond:local),delta"`
	LastTS    int64    `parquet:"last_ts,timestamp(nanosecond:local),delta"`
	// SpanNS is LastTS - FirstTS: how long it took from first to last hop.
	SpanNS int64 `parquet:"span_ns"`
	// Verdict: delivered (seen at the last hop of its flow direction's
	// path), dropped (counted in a drop other than capture-gap) or
	// unjudged (neither: the capture after its last hop was not running,
	// or a capture gap hides how it ended).
	Verdict string `parquet:"verdict,dict"`
	// DropFrom, DropTo and DropReason name the drop (findings, kind
	// drop) that counts the packet, DropCount as how many: the pieces
	// (GSO segments) the hop where it vanished saw of it, or 1, as
	// analyze counts drops; null when no drop counts it.
	DropFrom   *string `parquet:"drop_from,optional,dict"`
	DropTo     *string `parquet:"drop_to,optional,dict"`
	DropReason *string `parquet:"drop_reason,optional,dict"`
	DropCount  *int32  `parquet:"drop_count,optional"`
	// Retransmission: a TCP segment its flow's statistics count as a
	// retransmission (flows: orig_retransmissions, reply_retransmissions).
	Retransmission bool `parquet:"retransmission"`
}

// Flow is one row of the flows table: one connection as conntrack tracks
// it (analyze.Flow). Pod flows, then tunnel carriers (Tunnel not null).
type Flow struct {
	Flow      string  `parquet:"flow,dict"` // the key other tables use
	Proto     string  `parquet:"proto,dict"`
	OrigSrc   string  `parquet:"orig_src"`
	OrigDst   string  `parquet:"orig_dst"`
	OrigSPort int32   `parquet:"orig_sport"`
	OrigDPort int32   `parquet:"orig_dport"`
	ReplySrc  string  `parquet:"reply_src"`
	ReplyDst  string  `parquet:"reply_dst"`
	ReplySPt  int32   `parquet:"reply_sport"`
	ReplyDPt  int32   `parquet:"reply_dport"`
	State     *string `parquet:"state,optional,dict"` // TCP only
	Assured   bool    `parquet:"assured"`
	Unreplied bool    `parquet:"unreplied"`
	Packets   int64   `parquet:"packets"`
	Bytes     int64   `parquet:"bytes"`

	OrigPackets     int64 `parquet:"orig_packets"`
	OrigBytes       int64 `parquet:"orig_bytes"`
	OrigRetransmits int64 `parquet:"orig_retransmissions"`
	OrigOutOfOrder  int64 `parquet:"orig_out_of_order"`
	OrigZeroWindow  int64 `parquet:"orig_zero_window"`
	OrigMaxSegment  int64 `parquet:"orig_max_segment"`
	OrigMSS         int64 `parquet:"orig_mss"`

	ReplyPackets     int64 `parquet:"reply_packets"`
	ReplyBytes       int64 `parquet:"reply_bytes"`
	ReplyRetransmits int64 `parquet:"reply_retransmissions"`
	ReplyOutOfOrder  int64 `parquet:"reply_out_of_order"`
	ReplyZeroWindow  int64 `parquet:"reply_zero_window"`
	ReplyMaxSegment  int64 `parquet:"reply_max_segment"`
	ReplyMSS         int64 `parquet:"reply_mss"`

	FirstTS int64 `parquet:"first_ts,timestamp(nanosecond:local)"`
	LastTS  int64 `parquet:"last_ts,timestamp(nanosecond:local)"`
	// NAT is the flow's translations in text, as analysis schema v1 wrote
	// them: "dnat 10.96.0.10:80 -> 10.244.1.5:8080, snat ..."
	// (analyze.NATText); null when none.
	NAT    *string `parquet:"nat,optional"`
	Tunnel *string `parquet:"tunnel,optional,dict"` // carriers: what they carry
}

// HopPair is one row of the hop_pairs table: latency between two
// consecutive hops (analyze.HopLatency), nearest-rank percentiles.
type HopPair struct {
	FromHop   string `parquet:"from_hop"`
	ToHop     string `parquet:"to_hop"`
	Direction string `parquet:"direction"`
	Packets   int64  `parquet:"packets"`
	MinNS     int64  `parquet:"min_ns"`
	P50NS     int64  `parquet:"p50_ns"`
	P90NS     int64  `parquet:"p90_ns"`
	P99NS     int64  `parquet:"p99_ns"`
	MaxNS     int64  `parquet:"max_ns"`
	CrossNode bool   `parquet:"cross_node"`
	Negative  int64  `parquet:"negative"`
}

// Finding is one row of the findings table: a drop (kind drop; FromHop,
// ToHop, Reason), packets that cannot be judged (kind unjudged; FromHop,
// ToHop) or an MTU finding (analyze.MTUFinding's kinds; Hop, MTU).
type Finding struct {
	Kind          string  `parquet:"kind,dict"`
	Flow          string  `parquet:"flow"`
	Direction     *string `parquet:"direction,optional"`
	Hop           *string `parquet:"hop,optional"`
	FromHop       *string `parquet:"from_hop,optional"`
	ToHop         *string `parquet:"to_hop,optional"`
	Reason        *string `parquet:"reason,optional"`
	MTU           *int32  `parquet:"mtu,optional"`
	Packets       int64   `parquet:"packets"`
	Retransmitted *int64  `parquet:"retransmitted,optional"`
	Detail        string  `parquet:"detail"`
}

// Capture is one row of the captures table: one capture point
// (analyze.CaptureSummary). FirstTS and LastTS are on the node's own clock.
type Capture struct {
	Hop     string `parquet:"hop"`
	Node    string `parquet:"node"`
	File    string `parquet:"file"`
	Packets int64  `parquet:"packets"`
	FirstTS int64  `parquet:"first_ts,timestamp(nanosecond:local)"`
	LastTS  int64  `parquet:"last_ts,timestamp(nanosecond:local)"`
}

// Clock is one row of the clocks table (analyze.Clock): subtract OffsetNS
// from the node's timestamps to get the reference node's time.
type Clock struct {
	Node      string `parquet:"node"`
	Reference string `parquet:"reference"`
	OffsetNS  int64  `parquet:"offset_ns"`
	Samples   int64  `parquet:"samples"`
	ErrorNS   int64  `parquet:"error_ns"`
}

// Encap is one row of the encap table (analyze.Encap): what encapsulation
// cost at one hop.
type Encap struct {
	Hop           string  `parquet:"hop"`
	Type          string  `parquet:"type"`
	VNI           *int64  `parquet:"vni,optional"`
	Packets       int64   `parquet:"packets"`
	OverheadBytes int64   `parquet:"overhead_bytes"`
	WireBytes     int64   `parquet:"wire_bytes"`
	Share         float64 `parquet:"share"`
	InnerMTU      int64   `parquet:"inner_mtu"`
}
