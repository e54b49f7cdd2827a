// Package jsonlog is slog's JSON handler with a fast path for flat records:
// the gateway writes an access line per request, and slog's handler spends
// more on formatting it (a general attribute walk, json.Marshal for every
// float) than the gateway spends on most of its stages. A record whose
// attributes are all plain strings, integers, finite floats and booleans is
// written here, byte for byte as slog.JSONHandler writes it (see
// TestMatchesSlog); any other record, and every record of a handler with
// attributes, groups, AddSource or ReplaceAttr, is slog's.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
)

// Handler writes JSON lines like slog.JSONHandler.
type Handler struct {
	next  slog.Handler // slog's handler, writing through out
	out   *lockedWriter
	fast  bool
	level slog.Leveler
}

// NewHandler returns a Handler writing to w with opts (nil: slog's
// defaults).
func NewHandler(w io.Writer, opts *slog.HandlerOptions) *Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	out := &lockedWriter{w: w}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{next: slog.NewJSONHandler(out, opts), out: out, level: level,
		fast: !opts.AddSource && opts.ReplaceAttr == nil}
}

// lockedWriter serialises the lines of both paths, as slog's handler does
// its own.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled reports whether level is logged.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns slog's handler with attrs: such records take slog's
// path.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.next.WithAttrs(attrs) }

// WithGroup returns slog's handler with the group: such records take
// slog's path.
func (h *Handler) WithGroup(name string) slog.Handler { return h.next.WithGroup(name) }

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle writes r.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast {
		return h.next.Handle(ctx, r)
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	b, ok := appendRecord((*bp)[:0], r)
	*bp = b[:0]
	if !ok {
		return h.next.Handle(ctx, r)
	}
	_, err := h.out.Write(b)
	return err
}

// appendRecord appends r as slog.JSONHandler writes it; false when r is not
// flat and plain enough for this path.
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		if y := r.Time.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = r.Time.Round(0).AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":"`...)
	b = append(b, r.Level.String()...)
	b = append(b, `","msg":`...)
	var ok bool
	if b, ok = appendString(b, r.Message); !ok {
		return b, false
	}
	ok = true
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" {
			ok = false
			return false
		}
		b = append(b, ',')
		if b, ok = appendString(b, a.Key); !ok {
			return false
		}
		b = append(b, ':')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b, ok = appendString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindFloat64:
			// encoding/json writes these with strconv's 'f' format; others
			// (exponents, NaN, ±Inf) are left to slog.
			f := v.Float64()
			if a := math.Abs(f); f != 0 && (a < 1e-6 || a >= 1e21 || math.IsNaN(f)) {
				ok = false
			} else {
				b = strconv.AppendFloat(b, f, 'f', -1, 64)
			}
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b, false
	}
	return append(b, "}\n"...), true
}

// plainByte marks the bytes appendString writes as they are: a table
// look-up per byte instead of four comparisons.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s quoted when it needs no escape in slog's JSON
// (printable ASCII but for the quote and the backslash); false otherwise.
func appendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
