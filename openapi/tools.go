package openapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Lint loads a document with its overlays and prints one warning per line
// (`FILE POINTER: message`) then a count. A refused document prints its
// *LoadError and returns it.
func Lint(ctx context.Context, path string, overlays []string, w io.Writer) error {
	s, err := Load(ctx, path, overlays...)
	if err != nil {
		fmt.Fprintln(w, err)
		return err
	}
	for _, wn := range s.Warnings {
		fmt.Fprintln(w, wn)
	}
	noun := "warnings"
	if len(s.Warnings) == 1 {
		noun = "warning"
	}
	ops := "operations"
	if len(s.Operations) == 1 {
		ops = "operation"
	}
	fmt.Fprintf(w, "%s: %d %s, %d %s\n", s.Source, len(s.Operations), ops, len(s.Warnings), noun)
	return nil
}

// WriteOps prints the operations catalog as an aligned table: method, path,
// operationId, scopes (alternatives separated by " | "), deprecated.
func (s *Spec) WriteOps(w io.Writer) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tOPERATION\tSCOPES\tDEPRECATED")
	ops := slices.Clone(s.Operations)
	slices.SortStableFunc(ops, byPathMethod)
	for _, o := range ops {
		dep := ""
		if o.Deprecated {
			dep = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Method, o.Path, o.ID, scopeText(o), dep)
	}
	tw.Flush()
	// tabwriter pads the empty last column; trim it so lines end cleanly.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		io.WriteString(w, strings.TrimRight(line, " \n")+"\n")
	}
}

func scopeText(o *Operation) string {
	if !o.HasSecurity {
		return "(no security)"
	}
	if len(o.Scopes) == 0 {
		return "(public)"
	}
	alts := make([]string, len(o.Scopes))
	for i, a := range o.Scopes {
		if len(a) == 0 {
			alts[i] = "(any)"
		} else {
			alts[i] = strings.Join(a, ",")
		}
	}
	return strings.Join(alts, " | ")
}
