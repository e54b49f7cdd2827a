package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type cli struct {
	t   *testing.T
	cfg string
}

func newCLI(t *testing.T, extra string) *cli {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ghlgate.yaml")
	text := "data_dir: " + filepath.Join(dir, "data") + "\nlisten: 127.0.0.1:1\n" + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, cfg: cfg}
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"--config", c.cfg}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestKeysCreatePrintsTheKeyAlone(t *testing.T) {
	c := newCLI(t, "")
	code, out, errs := c.run("keys", "create", "--name", "web", "--scopes", "contacts.readonly,sandbox:contacts.write", "--locations", "L1", "--stages", "production,sandbox")
	if code != 0 {
		t.Fatalf("keys create = %d (%s)", code, errs)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "ghlgw_") || strings.Count(out, "\n") != 1 {
		t.Errorf("stdout = %q; want the key alone on one line", out)
	}
	code, out, _ = c.run("keys", "list", "--format", "json")
	if code != 0 || strings.Contains(out, key) || !strings.Contains(out, `"name":"web"`) {
		t.Errorf("keys list = %d %s; want the client without its secret", code, out)
	}
	if code, _, errs := c.run("keys", "create", "--name", "x", "--scopes", "contacts.readonly", "--stages", "prod"); code != 2 || !strings.Contains(errs, "not a stage") {
		t.Errorf("bad --stages = %d %q; want exit 2 naming the stage", code, errs)
	}
	if code, _, errs := c.run("keys", "revoke", "nobody"); code != 1 || !strings.Contains(errs, "no client") {
		t.Errorf("revoke unknown = %d %q; want exit 1 saying so", code, errs)
	}
	if code, out, _ := c.run("keys", "rotate", "web", "--grace", "1h"); code != 0 || !strings.HasPrefix(out, "ghlgw_") || strings.TrimSpace(out) == key {
		t.Errorf("rotate = %d %q; want a new key", code, out)
	}
}

func TestCheckConfig(t *testing.T) {
	good := newCLI(t, "")
	if code, out, errs := good.run("serve", "--check-config"); code != 0 || !strings.Contains(out, "configuration OK") {
		t.Errorf("check good config = %d %q %q; want 0", code, out, errs)
	}
	bad := newCLI(t, "response_validation: sometimes\nupstream:\n  timeout: -1s\n")
	code, _, errs := bad.run("serve", "--check-config")
	if code != 1 || !strings.Contains(errs, "response_validation") || !strings.Contains(errs, "upstream.timeout") {
		t.Errorf("check bad config = %d %q; want 1 listing both problems", code, errs)
	}
}

func TestSpecLint(t *testing.T) {
	c := newCLI(t, "")
	official := filepath.Join("..", "..", "..", "shared", "ghl", "apps", "contacts.json")
	if _, err := os.Stat(official); err == nil {
		code, out, _ := c.run("spec", "lint", official)
		if code != 0 || !strings.Contains(out, "warnings") {
			t.Errorf("lint official = %d %q; want 0 with warnings", code, out)
		}
	}
	broken := filepath.Join(t.TempDir(), "broken.json")
	os.WriteFile(broken, []byte(`{"openapi":"3.0.0","paths":{"/x":{"get":{"responses":{"200":{"$ref":"#/nowhere"}}}}}}`), 0o600) //nolint:errcheck
	// The lint report, error included, is the command's output.
	code, out, errs := c.run("spec", "lint", broken)
	if code != 1 || strings.Count(out+errs, "load spec") != 1 || !strings.Contains(out, "#/nowhere") {
		t.Errorf("lint broken = %d %q %q; want 1 with the error, naming the $ref, once", code, out, errs)
	}
	if code, out, _ := c.run("spec", "ops"); code != 0 || !strings.Contains(out, "get-contact") || !strings.Contains(out, "contacts.readonly") {
		t.Errorf("spec ops = %d; want the catalog with scopes:\n%s", code, out)
	}
}

func TestAuditQueryEmpty(t *testing.T) {
	c := newCLI(t, "")
	if code, out, errs := c.run("audit", "query", "--decision", "deny", "--since", "1h"); code != 0 || out != "" {
		t.Errorf("audit query on an empty trail = %d %q %q; want 0 and nothing", code, out, errs)
	}
	if code, _, errs := c.run("audit", "query", "--since", "yesterday"); code != 2 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("bad --since = %d %q; want exit 2 explaining the format", code, errs)
	}
}

func TestEventsListJSON(t *testing.T) {
	c := newCLI(t, "")
	code, out, errs := c.run("events", "list", "--format", "json")
	if code != 0 || out != "" {
		t.Errorf("events list on an empty store = %d %q %q", code, out, errs)
	}
	if code, _, _ := c.run("events", "list", "--format", "xml"); code != 2 {
		t.Errorf("bad --format = %d; want 2", code)
	}
}
