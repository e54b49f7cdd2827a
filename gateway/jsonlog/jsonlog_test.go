package jsonlog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// TestMatchesSlog writes the same records through this handler and through
// slog.JSONHandler and wants the same bytes, on the fast path and off it.
func TestMatchesSlog(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("X", 3600))
	records := []struct {
		name  string
		time  time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
		fast  bool
	}{
		{"access line", at, slog.LevelInfo, "access", []slog.Attr{slog.String("request_id", "0123abc"), slog.String("route", "/contacts/{contactId}"),
			slog.Int("status", 200), slog.Float64("duration_ms", 0.421), slog.String("client", "")}, true},
		{"utc, whole ms", time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), slog.LevelWarn, "w", []slog.Attr{slog.Float64("f", 0)}, true},
		{"no time", time.Time{}, slog.LevelError + 2, "", nil, true},
		{"floats", at, slog.LevelInfo, "m", []slog.Attr{slog.Float64("a", 1234567.25), slog.Float64("b", -0.001), slog.Float64("c", 1e20), slog.Float64("d", 3)}, true},
		{"ints and bools", at, slog.LevelDebug, "m", []slog.Attr{slog.Int64("a", math.MinInt64), slog.Uint64("b", math.MaxUint64), slog.Bool("c", false)}, true},
		{"many attrs", at, slog.LevelInfo, "m", []slog.Attr{slog.Int("a1", 1), slog.Int("a2", 2), slog.Int("a3", 3), slog.Int("a4", 4), slog.Int("a5", 5), slog.Int("a6", 6), slog.Int("a7", 7)}, true},
		{"escape in a value", at, slog.LevelInfo, "m", []slog.Attr{slog.String("s", "a\"b\\c\n<&>")}, false},
		{"non-ASCII message", at, slog.LevelInfo, "résumé", nil, false},
		{"escape in a key", at, slog.LevelInfo, "m", []slog.Attr{slog.Int("k\"", 1)}, false},
		{"tiny float", at, slog.LevelInfo, "m", []slog.Attr{slog.Float64("f", 1e-9)}, false},
		{"huge float", at, slog.LevelInfo, "m", []slog.Attr{slog.Float64("f", 1e21)}, false},
		{"duration", at, slog.LevelInfo, "m", []slog.Attr{slog.Duration("d", time.Second)}, false},
		{"time attr", at, slog.LevelInfo, "m", []slog.Attr{slog.Time("t", at)}, false},
		{"error", at, slog.LevelError, "m", []slog.Attr{slog.Any("err", errors.New("boom"))}, false},
		{"group", at, slog.LevelInfo, "m", []slog.Attr{slog.Group("g", slog.Int("a", 1))}, false},
		{"empty attr", at, slog.LevelInfo, "m", []slog.Attr{{}}, false},
	}
	for _, tc := range records {
		t.Run(tc.name, func(t *testing.T) {
			r := slog.NewRecord(tc.time, tc.level, tc.msg, 0)
			r.AddAttrs(tc.attrs...)
			var want, got bytes.Buffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			if err := slog.NewJSONHandler(&want, opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := NewHandler(&got, opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("line = %s\nslog  = %s", got.String(), want.String())
			}
			if _, fast := appendRecord(nil, r); fast != tc.fast {
				t.Errorf("fast path taken = %v; want %v", fast, tc.fast)
			}
		})
	}
}

// TestHandlerOptions checks the level, and that attrs, groups, AddSource
// and ReplaceAttr give slog's lines.
func TestHandlerOptions(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("Enabled does not follow the level")
	}
	log := slog.New(h)
	log.With("component", "x").WithGroup("g").Warn("m", "a", 1)
	if !strings.Contains(buf.String(), `"component":"x","g":{"a":1}`) {
		t.Errorf("with attrs and group = %s; want slog's line", buf.String())
	}
	for _, tc := range []struct {
		opts *slog.HandlerOptions
		want string
	}{
		{&slog.HandlerOptions{AddSource: true}, `"source":{`},
		{&slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.MessageKey {
				a.Value = slog.StringValue("replaced")
			}
			return a
		}}, `"msg":"replaced"`},
	} {
		buf.Reset()
		slog.New(NewHandler(&buf, tc.opts)).Info("m")
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("line %s; want slog's, with %s", buf.String(), tc.want)
		}
	}
}

func BenchmarkAccessLine(b *testing.B) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "access", 0)
	r.AddAttrs(slog.String("request_id", "0123456789abcdef01234567"), slog.String("method", "GET"), slog.String("route", "/contacts/{contactId}"),
		slog.String("operation_id", "get-contact"), slog.String("stage", "production"), slog.Int("status", 200),
		slog.Float64("duration_ms", 0.421), slog.String("client", "rankr-bench"), slog.String("decision", "allow"), slog.String("reason", "allowed"))
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewJSONHandler(discard{}, nil)}, {"jsonlog", NewHandler(discard{}, nil)}} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.h.Handle(context.Background(), r) //nolint:errcheck
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestPlainBytesMatchSlog checks appendString's table byte by byte: every
// one-byte string it writes as it is, slog.JSONHandler writes so too, and
// it writes every printable ASCII byte but the quote and the backslash.
func TestPlainBytesMatchSlog(t *testing.T) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
				return slog.Attr{}
			}
			return a
		}})).Info(s)
		slogPlain := buf.String() == `{"msg":"`+s+`"}`+"\n"
		_, ok := appendString(nil, s)
		if ok && !slogPlain {
			t.Errorf("appendString writes %q as it is; slog writes %s", s, buf.String())
		}
		if want := c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; ok != want {
			t.Errorf("appendString(%q) ok = %v; want %v", s, ok, want)
		}
	}
}
