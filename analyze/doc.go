// Package analyze follows packets across the capture points of one
// incident: it recognises the same packet at every hop, infers the hop
// order, keeps a conntrack-like flow table and measures what each hop cost.
// It reads captures through package decode and prints nothing.
//
// In: the captures of an incident, each tagged with the node whose clock
// stamped it. Out: one Result, every list sorted, with typed values
// (Proto, Direction, DropReason, MTUKind, NATKind) that write the schema's names.
//
// The passes, in order:
//
//  1. Clock pass (clock.go): up to Options.ClockSample packets per node are
//     read and keyed by identity (addresses left out, so NAT and ICMP errors
//     still match); every pair of nodes gets an NTP-style offset from the
//     fastest packet each way; the reference is the node tied to the most
//     others, the rest reached through ties (one-way offsets last). Each
//     capture's timeline is cut at its pauses and steps (clockstep.go); a
//     node's timeline is split into segments where the packets it shares
//     with settled nodes disagree with its offset by more than the window
//     (a clock step), each segment with its own offset. The main pass
//     reads every capture again from its start.
//  2. Main pass (analyze.go, correlate.go): every capture merged in
//     reference time (each packet less its segment's offset); each sighting is observed (observe.go, identity.go)
//     and matched to the open packets of its key within the window.
//     Reading, decoding and observing run per capture on worker
//     goroutines (pipeline.go, Options.Jobs), handing sightings over in
//     small batches; the one merging them numbers what they share
//     (tuples, hops, encapsulations) in the order it takes them, so the
//     result does not depend on the goroutines.
//  3. Aggregation (aggregate.go, flows.go, conntrack.go), per finished
//     packet: its sightings in path order, the flow and direction it
//     belongs to (conntrack's state machine, Wireshark's retransmission
//     analysis), latencies per hop pair, which hops saw it against which
//     nodes were capturing (a node's window covers all its captures; a
//     capture whose pcapng statistics say when it ran covers that span,
//     isb.go),
//     segments watched for being sent again, fragments, ICMP errors.
//     With workers, finished packets are aggregated by one of them, in
//     the order finished, handed over in batches with the capture
//     coverage the merging goroutine found for them (pipeline.go's
//     aggStage).
//  4. Result (build.go): paths, then drops placed on each flow direction's
//     expected path with a reason only where evidence exists (capture-gap,
//     mtu, ttl; else unknown) and unjudged packets where the next node was
//     not capturing, then MTU findings, one per cause listing its flows.
package analyze
