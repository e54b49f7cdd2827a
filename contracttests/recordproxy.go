package contracttests

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// NewRecordingProxy is `ghlgate contract record`'s proxy: a reverse proxy
// to target (a base URL such as http://gateway/staging) that records every
// exchange passing through it. Clients call the proxy with paths relative
// to the target (/contacts/...), as they would call the target; recorded
// paths are those. max bounds the exchanges kept (0 = 1000). Take the
// exchanges and give them to Record to write a fixture.
func NewRecordingProxy(target string, max int) (*Recorder, error) {
	u, err := url.Parse(strings.TrimSuffix(target, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &UsageError{Problems: []string{fmt.Sprintf("--target %q is not an http(s) base URL", target)}}
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "contract record: the target did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	return NewRecorder(rp, "", max), nil
}
