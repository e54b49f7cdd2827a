package clone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const (
	// maxAnswer caps an answer body; a contact's notes are the largest.
	maxAnswer = 16 << 20
	// maxRateWait caps the wait after a 429, as GHL's SDK does.
	maxRateWait = 30 * time.Second
	// fallbackRateWait is the first wait after a 429 without
	// X-RateLimit-Interval-Milliseconds; it doubles per retry.
	fallbackRateWait = time.Second
)

// fetcher sends GETs to GHL one at a time, waiting for the rate limiter
// before each and waiting out 429s.
type fetcher struct {
	client     *http.Client
	base       string
	version    string
	location   string
	wait       func(context.Context) error
	sleep      func(context.Context, time.Duration) error
	maxRetries int
	log        *slog.Logger

	requests    int
	rateLimited int
	warnings    []string
}

// get fetches path?query into out. perContact says a 400 means the contact
// is gone (GHL's "Contact not found") rather than a bad parameter.
func (f *fetcher) get(ctx context.Context, step, path string, query url.Values, perContact bool, out any) error {
	u := f.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		if f.wait != nil {
			if err := f.wait(ctx); err != nil {
				return fmt.Errorf("clone: %s: wait for the rate limiter: %w", step, err)
			}
		}
		status, header, body, err := f.do(ctx, u)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("clone: %s: %w", step, ctx.Err())
			}
			return &StepError{Step: step, Err: fmt.Errorf("%w: %w", ErrUnreachable, err),
				Hint: "check upstream.base_url (" + f.base + ") and the upstream credential"}
		}
		f.log.LogAttrs(ctx, slog.LevelDebug, "clone upstream answer",
			slog.String("step", step), slog.Int("status", status), slog.Int("attempt", attempt))
		if status == http.StatusTooManyRequests {
			f.rateLimited++
			if daily(header) {
				e := statusError(step, status, ghlMessage(body), f.location, perContact)
				e.Hint = "GHL's daily request budget for location " + f.location + " is spent: run again tomorrow"
				return e
			}
			if attempt < f.maxRetries {
				d := rateWait(header, attempt)
				f.log.LogAttrs(ctx, slog.LevelWarn, "clone rate limited by GHL",
					slog.String("step", step), slog.Int64("wait_ms", d.Milliseconds()), slog.Int("retry", attempt+1))
				if err := f.sleep(ctx, d); err != nil {
					return fmt.Errorf("clone: %s: wait after 429: %w", step, err)
				}
				continue
			}
		}
		if status < 200 || status > 299 {
			return statusError(step, status, ghlMessage(body), f.location, perContact)
		}
		if err := json.Unmarshal(body, out); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				// encoding/json filled every other field; one odd field
				// should not stop a clone.
				f.log.LogAttrs(ctx, slog.LevelWarn, "clone skipped an unexpected field",
					slog.String("step", step), slog.String("field", typeErr.Field), slog.String("error", err.Error()))
				f.warnings = append(f.warnings, fmt.Sprintf("%s: field %s ignored: %v", step, typeErr.Field, err))
				return nil
			}
			return &StepError{Step: step, Status: status, Err: fmt.Errorf("%w: decode answer: %w", ErrUpstream, err),
				Hint: "GHL's answer is not the expected JSON; check upstream.base_url (" + f.base + ")"}
		}
		return nil
	}
}

func (f *fetcher) do(ctx context.Context, u string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", f.version)
	f.requests++
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// daily tells a 429 for the spent daily budget, which no short wait cures,
// the way GHL's SDK does: X-RateLimit-Daily-Remaining at or below 0.
func daily(h http.Header) bool {
	v := h.Get("X-RateLimit-Daily-Remaining")
	n, err := strconv.Atoi(v)
	return v != "" && err == nil && n <= 0
}

// rateWait is how long to wait after a burst 429: GHL's
// X-RateLimit-Interval-Milliseconds (the burst window), capped at
// maxRateWait; without it, a doubling fallback.
func rateWait(h http.Header, attempt int) time.Duration {
	if ms, err := strconv.Atoi(h.Get("X-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		return min(time.Duration(ms)*time.Millisecond, maxRateWait)
	}
	return min(fallbackRateWait<<attempt, maxRateWait)
}

// ghlMessage extracts GHL's error message ({"message": "..."} or a list).
func ghlMessage(body []byte) string {
	var v struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Message) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Message, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(v.Message, &list) == nil && len(list) > 0 {
		b, _ := json.Marshal(list)
		return string(b)
	}
	return ""
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
