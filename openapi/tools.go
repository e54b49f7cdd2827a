package openapi

import (
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
	fmt.Fprintf(w, "%s: %d operations, %d %s\n", s.Source, len(s.Operations), len(s.Warnings), noun)
	return nil
}

// WriteOps prints the operations catalog as an aligned table: method, path,
// operationId, scopes (alternatives separated by " | "), deprecated.
func (s *Spec) WriteOps(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
