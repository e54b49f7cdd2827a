package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/contracttests"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

// contract run's exit codes: 0 when every scenario passes against a real
// gateway, 1 when one fails, 2 for usage and connection errors.
func TestContractRunExitCodes(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.RateLimit.Default.Location = nil }})
	keys, err := contracttests.MakeSuiteKeys(context.Background(), env.Server.Keys, "cli-")
	if err != nil {
		t.Fatal(err)
	}
	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	base := []string{"contract", "run", "--target", env.URL + "/staging", "--key", keys.Writer, "--quiet", "--tags", "contacts"}
	if code, out := run1(base...); code != 0 || !strings.Contains(out, "scenarios") {
		t.Errorf("contract run against the gateway = %d; want 0 with a summary\n%s", code, out)
	} else {
		t.Logf("summary:\n%s", out)
	}
	// A scenario expecting what the gateway does not answer fails the run.
	dir := t.TempDir()
	bad := `name: expects-a-teapot
description: fails on purpose
tags: [contacts]
testFlag: true
steps:
  - name: list
    request:
      method: GET
      path: /contacts/
      query: {locationId: ve9EPM428h8vShlRW1KT}
    expect:
      status: 418
`
	os.WriteFile(filepath.Join(dir, "teapot.yaml"), []byte(bad), 0o600) //nolint:errcheck
	if code, out := run1(append(base, "--fixtures", dir)...); code != 1 || !strings.Contains(out, "418") {
		t.Errorf("contract run with a failing scenario = %d; want 1 naming the expected status\n%s", code, out)
	}
	if code, out := run1("contract", "run", "--key", keys.Writer); code != 2 || !strings.Contains(out, "--target") {
		t.Errorf("contract run without --target = %d; want 2 naming the flag\n%s", code, out)
	}
	if code, _ := run1("contract", "run", "--target", "http://127.0.0.1:1/staging", "--key", keys.Writer, "--quiet"); code != 2 {
		t.Errorf("contract run against nothing = %d; want 2", code)
	}
}
