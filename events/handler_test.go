package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHandlerList(t *testing.T) {
	st := openStore(t, openSQLiteForTest(t), newClock())
	for _, typ := range []string{"contact.created", "task.created", "contact.updated"} {
		appendFor(t, st, typ, "C1")
	}
	srv := httptest.NewServer(NewHandler(st, nil))
	defer srv.Close()
	tests := []struct {
		name       string
		query      string
		status     int
		wantSeqs   []int64
		wantCursor string
	}{
		{"all", "", 200, []int64{1, 2, 3}, "3"},
		{"page", "?limit=2", 200, []int64{1, 2}, "2"},
		{"after", "?after=2", 200, []int64{3}, "3"},
		{"empty page keeps cursor", "?after=3", 200, nil, "3"},
		{"type", "?type=contact.*", 200, []int64{1, 3}, "3"},
		{"types comma", "?type=task.created,contact.updated", 200, []int64{2, 3}, "3"},
		{"bad after", "?after=x", 400, nil, ""},
		{"bad limit", "?limit=0", 400, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/_gateway/events" + tc.query)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d; want %d", tc.query, resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type = %q; want application/problem+json", ct)
				}
				return
			}
			var page ListPage
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
				t.Fatalf("decode: %v", err)
			}
			var seqs []int64
			for _, ev := range page.Events {
				seqs = append(seqs, ev.Seq)
			}
			if !equalInts(seqs, tc.wantSeqs) || page.NextCursor != tc.wantCursor {
				t.Errorf("GET %s = seqs %v cursor %q; want %v %q", tc.query, seqs, page.NextCursor, tc.wantSeqs, tc.wantCursor)
			}
		})
	}
}

// sseEvent is one parsed Server-Sent Event (or a comment).
type sseEvent struct{ id, event, data, comment string }

func readSSE(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				return ev
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

func TestHandlerStreamResumes(t *testing.T) {
	st := openStore(t, openSQLiteForTest(t), newClock())
	for range 3 {
		appendFor(t, st, "contact.updated", "C1")
	}
	h := NewHandler(st, nil)
	h.Poll = time.Hour // only the notifier may wake the stream
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/_gateway/events/stream", nil)
	req.Header.Set("Last-Event-ID", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	r := bufio.NewReader(resp.Body)
	var got []string
	for len(got) < 2 {
		ev := readSSE(t, r)
		if ev.id != "" {
			got = append(got, ev.id)
		}
	}
	if !equalStrings(got, []string{"2", "3"}) {
		t.Errorf("resumed from Last-Event-ID 1: ids %v; want [2 3]", got)
	}
	live := appendFor(t, st, "task.created", "C1")
	ev := readSSE(t, r)
	var data Event
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil || ev.id != strconv.FormatInt(live.Seq, 10) || ev.event != "task.created" || data.ID != live.ID {
		t.Errorf("live event = %+v (%v); want id %d, event task.created, data %s", ev, err, live.Seq, live.ID)
	}
}

func TestHandlerStreamHeartbeat(t *testing.T) {
	st := openStore(t, openSQLiteForTest(t), newClock())
	h := NewHandler(st, nil)
	h.Heartbeat, h.Poll = time.Millisecond, time.Hour
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/_gateway/events/stream?after=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for {
		if ev := readSSE(t, r); ev.comment == "heartbeat" {
			return
		}
	}
}

func TestListCommand(t *testing.T) {
	st := openStore(t, openSQLiteForTest(t), newClock())
	for _, typ := range []string{"contact.created", "task.created", "contact.updated"} {
		appendFor(t, st, typ, "C1")
	}
	tests := []struct {
		name  string
		opts  Opts
		lines int
		first string
	}{
		{"json", Opts{Format: "json"}, 3, `"seq":1`},
		{"json after type", Opts{Format: "json", After: 1, Types: []string{"contact.*"}}, 1, `"seq":3`},
		{"tail", Opts{Format: "json", Tail: true, Limit: 2}, 2, `"seq":2`},
		{"table", Opts{Format: "table"}, 4, "SEQ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ListCommand(context.Background(), st, &buf, tc.opts); err != nil {
				t.Fatalf("ListCommand: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != tc.lines || !strings.Contains(lines[0], tc.first) {
				t.Errorf("ListCommand(%+v) = %q; want %d lines, first containing %s", tc.opts, buf.String(), tc.lines, tc.first)
			}
		})
	}
	if err := ListCommand(context.Background(), st, &bytes.Buffer{}, Opts{Format: "xml"}); err == nil {
		t.Errorf("ListCommand(xml) = nil; want ErrBadFormat")
	}
	// --follow prints what arrives, then stops cleanly when ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	pr := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	go func() {
		done <- ListCommand(ctx, st, pr, Opts{Format: "json", After: 3, Follow: true, Poll: time.Hour})
	}()
	live := appendFor(t, st, "note.created", "C1")
	if line := <-pr.lines; !strings.Contains(line, live.ID) {
		t.Errorf("follow printed %s; want %s", line, live.ID)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListCommand(follow) after cancel = %v; want nil", err)
	}
}

type lineWriter struct{ lines chan string }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.lines <- string(p)
	return len(p), nil
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
