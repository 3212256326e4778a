// Package outfile writes a command's output file without harming what the
// path already names: the incident's own captures are never replaced,
// device nodes, FIFOs and directories are refused, "-" and /dev/stdout are
// written through as standard output, and an existing file keeps its mode,
// owner and hard links. Every hoptrace command that writes a file (analyze
// and flows --out, merge --out, check --update, export) goes through Write.
//
// The pipeline: Write resolves the path (symbolic links followed), looks at
// what it names, refuses or picks how to write, renders into a temporary
// file beside the target, and only once everything was written puts it in
// place: renamed over the target, or, for a file with several hard links,
// copied into it so that every link sees the new content.
package outfile
