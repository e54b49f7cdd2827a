package proxy

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadCapped(t *testing.T) {
	body := strings.Repeat("x", 3000)
	tests := []struct {
		name     string
		body     string
		length   int64
		max      int64
		wantLen  int
		tooLarge bool
	}{
		{"declared length", body, 3000, 1 << 20, 3000, false},
		{"unknown length", body, -1, 1 << 20, 3000, false},
		{"longer than declared", body, 100, 1 << 20, 3000, false},
		{"shorter than declared", body[:10], 3000, 1 << 20, 10, false},
		{"empty", "", 0, 1 << 20, 0, false},
		{"at the cap", body, 3000, 3000, 3000, false},
		{"over the cap, declared", body, 3000, 2999, 0, true},
		{"over the cap, undeclared", body, -1, 2999, 0, true},
		{"over the cap, declared small", body, 10, 2999, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// OneByteReader: the loop must cope with short reads.
			got, err := readCapped(iotest.OneByteReader(strings.NewReader(tc.body)), tc.length, tc.max)
			if tc.tooLarge {
				if !errors.Is(err, ErrResponseTooLarge) {
					t.Fatalf("readCapped = %d bytes, %v; want ErrResponseTooLarge", len(got), err)
				}
				return
			}
			if err != nil || len(got) != tc.wantLen || !bytes.Equal(got, []byte(tc.body[:tc.wantLen])) {
				t.Errorf("readCapped = %d bytes, %v; want %d bytes", len(got), err, tc.wantLen)
			}
		})
	}
}

func TestReadCappedError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := readCapped(iotest.ErrReader(boom), 10, 100); !errors.Is(err, boom) {
		t.Errorf("readCapped(failing reader) = %v; want it to wrap the read error", err)
	}
}

func TestRecycle(t *testing.T) {
	tests := []struct {
		name    string
		recycle bool
	}{{"recycled", true}, {"kept", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				w.Write([]byte(strings.Repeat(strconv.Itoa(n%10), 100))) //nolint:errcheck
			}))
			defer up.Close()
			u, _ := url.Parse(up.URL)
			var seen [][]byte
			p := New(Options{Target: u, Transport: http.DefaultTransport,
				Inspect: func(out *http.Request, resp *http.Response, body []byte) error {
					seen = append(seen, body)
					return nil
				},
				Recycle: func(*http.Request) bool { return tc.recycle }})
			for i := 1; i <= 3; i++ {
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
				if want := strings.Repeat(strconv.Itoa(i), 100); rec.Body.String() != want {
					t.Fatalf("answer %d = %q; want %q", i, rec.Body, want)
				}
			}
			shared := &seen[0][0] == &seen[2][0] || &seen[0][0] == &seen[1][0]
			if shared && !tc.recycle {
				t.Errorf("buffers shared = %v; want none shared when Recycle says no", shared)
			}
			if !tc.recycle {
				for i, b := range seen {
					if want := strings.Repeat(strconv.Itoa(i+1), 100); string(b) != want {
						t.Errorf("kept body %d = %q; want %q", i+1, b, want)
					}
				}
			}
		})
	}
}
