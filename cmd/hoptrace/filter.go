package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/filter"
)

// filterHelp is the help of the --filter flag.
const filterHelp = "keep only the packets matching this tcpdump-style expression (default: inner headers), e.g. 'host 10.244.1.5 and port 8080'; may also follow the captures as arguments"

// addFilterFlag registers --filter/-f.
func addFilterFlag(cmd *cobra.Command, expr *string) {
	cmd.Flags().StringVarP(expr, "filter", "f", "", filterHelp)
}

// splitFilter splits positional arguments, tcpdump style, into the capture
// paths that lead them and a filter expression made of the rest: the words
// after the last argument that is an existing path. When no argument is an
// existing path, they are all paths (so a missing file is reported as such)
// unless pathsOptional, when they are all the filter; words that do not
// parse and look like paths are paths too. The filter comes from the words
// or from flagExpr, not both; nil when there is none.
func splitFilter(flagExpr string, args []string, pathsOptional bool) ([]string, *filter.Filter, error) {
	i := len(args)
	for i > 0 {
		if _, err := os.Stat(args[i-1]); err == nil {
			break
		}
		i--
	}
	if i == 0 && !pathsOptional {
		i = len(args)
	}
	paths, words := args[:i], args[i:]
	expr := flagExpr
	if len(words) > 0 {
		if flagExpr != "" {
			return nil, nil, usageError("give the filter either with --filter or after the captures, not both (%q is not a file)", words[0])
		}
		expr = strings.Join(words, " ")
	}
	if strings.TrimSpace(expr) == "" {
		return paths, nil, nil
	}
	f, err := filter.Parse(expr)
	if err != nil {
		if len(words) > 0 && looksLikePath(words[0]) {
			return args, nil, nil // missing captures, which the command reports
		}
		return nil, nil, usageError("%w", err)
	}
	return paths, f, nil
}

// looksLikePath reports whether a word that is no filter is more likely a
// mistyped capture path: it has a directory or a capture file extension.
func looksLikePath(w string) bool {
	if _, err := netip.ParsePrefix(w); err == nil {
		return false
	}
	if strings.ContainsRune(w, filepath.Separator) || strings.ContainsRune(w, '/') {
		return true
	}
	switch strings.ToLower(filepath.Ext(w)) {
	case ".pcap", ".pcapng", ".cap", ".gz", ".zst", ".lz4", ".bz2", ".dmp":
		return true
	}
	return false
}
