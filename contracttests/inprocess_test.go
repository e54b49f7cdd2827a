package contracttests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/openapi"
)

// sharedSpecDir is the reference data folder, relative to this package.
var sharedSpecDir = filepath.Join("..", "..", "shared", "ghl")

var loadTestSpec = sync.OnceValues(func() (*openapi.Spec, error) {
	if s, err := openapi.Default(); err == nil && len(s.Operations) > 0 {
		return s, nil
	}
	return openapi.Load(context.Background(), filepath.Join(sharedSpecDir, "apps", "contacts.json"))
})

// testSpec is the project's spec, or HighLevel's official contacts.json
// while the embedded one is still a stub.
func testSpec(t testing.TB) *openapi.Spec {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedSpecDir, "apps", "contacts.json")); err != nil {
		if s, err2 := openapi.Default(); err2 != nil || len(s.Operations) == 0 {
			t.Skipf("no usable spec: %s is missing and openapi.Default has no operations", sharedSpecDir)
		}
	}
	s, err := loadTestSpec()
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return s
}

// suiteRateLimits are the budgets of the gateway the suite runs against in
// process. GHL's per-location budget is turned off: it is keyed by stage
// and location (every sandbox shares it), calibrated from the mock's
// GHL-style headers to 100 per 10 s, and the library alone sends a few
// hundred requests to the dental location within a second. Each client
// gets a budget instead, small enough on sandbox for gateway-rate-limited
// (a client of its own) to reach quickly. make contract's configuration
// does the same on staging.
func suiteRateLimits(c *config.Config) {
	c.RateLimit.Default.Location = nil
	c.RateLimit.Stages = map[string]ratelimit.StageLimits{
		config.StageStaging: {Client: &ratelimit.Rule{Max: 600, Interval: 10 * time.Second}},
		config.StageSandbox: {Client: &ratelimit.Rule{Max: 150, Interval: 10 * time.Second}},
	}
}

// inProcess is the real gateway (gatewaytest.Start: SQLite in a temp dir,
// seeded staging, per-client sandboxes) with the library's keys, and a
// production upstream that counts what reaches it.
type inProcess struct {
	env  *gatewaytest.Env
	keys *SuiteKeys
	// production counts the requests that reached production GHL.
	production atomic.Int64
}

func startInProcess(t testing.TB) *inProcess { return startInProcessWith(t, suiteRateLimits) }

func startInProcessWith(t testing.TB, configure func(*config.Config)) *inProcess {
	t.Helper()
	ip := &inProcess{}
	// Production is given a credential and an upstream of its own, so that
	// a request that leaked past the gateway's rules would arrive here
	// rather than fail for want of a credential.
	ghl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ip.production.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(ghl.Close)
	ip.env = gatewaytest.Start(t, gatewaytest.Options{
		Configure: configure, Upstream: ghl.URL,
		Env: map[string]string{credential.DefaultTokenEnv: "pit-contract-suite"},
	})
	keys, err := MakeSuiteKeys(context.Background(), ip.env.Server.Keys, "suite-")
	if err != nil {
		t.Fatalf("suite keys: %v", err)
	}
	ip.keys = keys
	return ip
}

// staging is the shared staging stage, run with the writer key.
func (ip *inProcess) staging() string { return ip.env.URL + "/staging" }

// isolated gives every scenario its own sandbox client; the keys are
// revoked when the test ends.
func (ip *inProcess) isolated(t testing.TB) *KeyProvisioner {
	p := &KeyProvisioner{Keys: ip.env.Server.Keys, BaseURL: ip.env.URL + "/sandbox", Prefix: "scenario-"}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("revoke scenario keys: %v", err)
		}
	})
	return p
}

// options runs the library on the shared staging with the suite's keys.
func (ip *inProcess) options(t testing.TB) Options {
	return Options{Target: ip.staging(), Key: ip.keys.Writer, Vars: ip.keys.Vars, Spec: testSpec(t)}
}
