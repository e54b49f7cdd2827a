package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// Opts are the flags of `ghlgate events list|tail`.
type Opts struct {
	After  int64
	Limit  int // list: page size (default 100); tail: how many of the newest
	Types  []string
	Format string // "json" (JSON lines) or "table" (default)
	Follow bool
	// Tail starts from the newest Limit events instead of After.
	Tail bool
	// Poll is how often --follow looks for new events: the CLI is another
	// process, so it never hears the server's notifier. Default 1s.
	Poll time.Duration
}

// ErrBadFormat: --format is neither json nor table.
var ErrBadFormat = errors.New("format must be json or table")

// ListCommand prints events to w: with Follow, until ctx ends (a nil error
// then); without it, one page of at most Limit events.
func ListCommand(ctx context.Context, st Store, w io.Writer, o Opts) error {
	var print func([]Event) error
	switch o.Format {
	case "json":
		enc := json.NewEncoder(w)
		print = func(evs []Event) error {
			for _, ev := range evs {
				if err := enc.Encode(ev); err != nil {
					return err
				}
			}
			return nil
		}
	case "", "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tSOURCE\tSTAGE\tRESOURCE\tCONTACT\tSTATUS\tID")
		print = func(evs []Event) error {
			for _, ev := range evs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq,
					ev.Time.Format(time.RFC3339), ev.Type, ev.Source, ev.Stage,
					ev.ResourceType+":"+ev.ResourceID, ev.ContactID, ev.Status, ev.ID)
			}
			return tw.Flush()
		}
	default:
		return fmt.Errorf("events list: %w (got %q)", ErrBadFormat, o.Format)
	}
	q := Query{After: o.After, Limit: o.Limit, Types: o.Types, Newest: o.Tail}
	evs, err := st.List(ctx, q)
	if err != nil {
		return fmt.Errorf("events list: %w", err)
	}
	if err := print(evs); err != nil {
		return fmt.Errorf("events list: %w", err)
	}
	if !o.Follow {
		return nil
	}
	if n := len(evs); n > 0 {
		q.After = evs[n-1].Seq
	}
	q.Newest, q.Limit = false, 0
	err = Follow(ctx, st, q, o.Poll, 0, print, nil)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("events follow: %w", err)
	}
	return nil
}

// ParseCursor reads a --after value.
func ParseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cursor %q: %w", s, ErrBadQuery)
	}
	return n, nil
}
