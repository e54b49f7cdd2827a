package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// readyPrefix starts the line a gateway child prints once it serves:
// "ghlgate-bench-ready URL KEY".
const readyPrefix = "ghlgate-bench-ready"

// ErrChild means the gateway child process did not start as expected.
var ErrChild = errors.New("gateway child process")

// measureRSS starts the gateway as its own process, drives conns concurrent
// keep-alive connections against it for d, and reads its peak resident set
// (VmHWM) from /proc.
func measureRSS(ctx context.Context, command []string, cfgPath string, conns int, ep Endpoint, d time.Duration) (*RSS, error) {
	ctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, command[0], append(command[1:], "-config", cfgPath)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child exits when this closes
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrChild, command[0], err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }() //nolint:errcheck // exit status of a stopped child
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			<-done
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: no ready line: %w", ErrChild, err)
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != readyPrefix {
		return nil, fmt.Errorf("%w: unexpected ready line %q", ErrChild, line)
	}
	pid := cmd.Process.Pid
	idle, _, err := procMemory(pid)
	if err != nil {
		return nil, err
	}
	auth := http.Header{"Authorization": {"Bearer " + f[2]}}
	// First every connection open and kept alive, a few requests in flight
	// at a time (Rankr's traffic is bounded by GHL's rate limits long before
	// 1,000 requests are in flight); then every connection busy. VmHWM only
	// grows, so the gentler phase is read first.
	openReqs, openDials, err := holdOpen(ctx, f[1], auth, ep, conns, openBusy, d)
	if err != nil {
		return nil, err
	}
	_, openPeak, err := procMemory(pid)
	if err != nil {
		return nil, err
	}
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	s, err := drive(ctx, loadTarget{base: f[1], client: client, header: auth}, ep, conns, d)
	if err != nil {
		return nil, err
	}
	_, peak, err := procMemory(pid)
	if err != nil {
		return nil, err
	}
	return &RSS{Connections: conns, IdleMiB: round1(idle),
		OpenBusy: openBusy, OpenDials: openDials, OpenRequests: openReqs, OpenPeakMiB: round1(openPeak),
		Dials: int(dials.Load()), Requests: s.requests, PeakMiB: round1(peak)}, nil
}

// openBusy is how many requests are in flight while all connections are
// held open in the first RSS phase.
const openBusy = 64

// holdOpen opens conns keep-alive connections (one client each, so that
// none is shared) and sends requests through all of them in turn, at most
// busy at a time, for d. It returns the requests made and the connections
// dialled.
func holdOpen(ctx context.Context, base string, header http.Header, ep Endpoint, conns, busy int, d time.Duration) (int, int, error) {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	clients := make([]*http.Client, conns)
	for i := range clients {
		clients[i] = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, IdleConnTimeout: time.Minute, DisableCompression: true,
		}}
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	sem := make(chan struct{}, busy)
	deadline := time.Now().Add(d)
	var n atomic.Int64
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := loadTarget{base: base, header: header, client: clients[i]}
			// Every connection is opened once, whatever the deadline.
			for first := true; first || time.Now().Before(deadline); first = false {
				sem <- struct{}{}
				err := once(ctx, t, ep)
				<-sem
				if err != nil {
					errs[i] = err
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	return int(n.Load()), int(dials.Load()), nil
}

// procMemory reads VmRSS and VmHWM (peak) of pid, in MiB.
func procMemory(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of %d (Linux only): %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s of %d: %w", k, pid, err)
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	return rss, hwm, nil
}

// serveGateway is the child side of measureRSS: it opens the gateway from
// the config file, serves it on a loopback port, prints the ready line and
// serves until its stdin closes (the parent stopped or died).
func serveGateway(ctx context.Context, cfgPath string, stdin io.Reader, stdout io.Writer) error {
	s, key, err := openGateway(ctx, cfgPath, accessLogger())
	if err != nil {
		return err
	}
	defer s.Close()
	srv, err := serveGatewayHTTP(s)
	if err != nil {
		return err
	}
	defer srv.close()
	if _, err := fmt.Fprintf(stdout, "%s %s %s\n", readyPrefix, srv.url, key); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin) //nolint:errcheck // EOF or error: either way the parent is gone
	return nil
}

// serveBare is the child side of measureRSS for the bare proxy: the same
// executable (so the same binary pages and package initialisation), serving
// bareProxy to upstream. Its ready line's key is a placeholder; the fake
// GHL accepts any bearer token.
func serveBare(upstream string, stdin io.Reader, stdout io.Writer) error {
	h, err := bareProxy(upstream)
	if err != nil {
		return err
	}
	srv, err := serve(h)
	if err != nil {
		return err
	}
	defer srv.close()
	if _, err := fmt.Fprintf(stdout, "%s %s %s\n", readyPrefix, srv.url, "bare"); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin) //nolint:errcheck // EOF or error: either way the parent is gone
	return nil
}
