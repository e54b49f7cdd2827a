package credential_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/gateway/credential"
)

func TestSecretRedacted(t *testing.T) {
	s := credential.Secret("pit-very-secret")
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "token", s, "group", slog.GroupValue(slog.Any("inner", s)))
	js, err := json.Marshal(struct{ T credential.Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  string
	}{
		{"%v", fmt.Sprintf("%v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%+v struct", fmt.Sprintf("%+v", struct{ T credential.Secret }{s})},
		{"json", string(js)},
		{"slog json", logBuf.String()},
		{"slog text", func() string {
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, nil)).Info("x", "token", s)
			return b.String()
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.got, "very-secret") || !strings.Contains(tc.got, "[redacted]") {
				t.Errorf("%s = %q; want [redacted] and no secret", tc.name, tc.got)
			}
		})
	}
	if got := s.Reveal(); got != "pit-very-secret" {
		t.Errorf("Reveal() = %q; want pit-very-secret", got)
	}
}
