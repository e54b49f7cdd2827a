package proxy

import (
	"bytes"
	"errors"
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

func TestPool(t *testing.T) {
	p := &pool{}
	b := p.Get()
	if len(b) != 8<<10 {
		t.Fatalf("len(Get()) = %d; want %d", len(b), 8<<10)
	}
	p.Put(b)
	if got := p.Get(); len(got) != 8<<10 {
		t.Errorf("len(Get() after Put) = %d; want %d", len(got), 8<<10)
	}
}
