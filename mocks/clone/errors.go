package clone

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kinds of failure, for errors.Is on a Run error.
var (
	// ErrOptions: Options are incomplete or invalid; nothing was fetched.
	ErrOptions = errors.New("invalid clone options")
	// ErrUnauthorized: GHL answered 401 (no, bad or under-scoped token).
	ErrUnauthorized = errors.New("GHL refused the credential")
	// ErrForbidden: GHL answered 403 (the token is not for this location).
	ErrForbidden = errors.New("GHL refused access to the location")
	// ErrNotFound: GHL answered 404, or 400 for a contact that is gone.
	ErrNotFound = errors.New("GHL has no such record")
	// ErrRejected: GHL refused the request's parameters (400, 422).
	ErrRejected = errors.New("GHL refused the request")
	// ErrRateLimited: GHL kept answering 429 after the allowed retries, or
	// the location's daily budget is spent.
	ErrRateLimited = errors.New("GHL rate limit")
	// ErrUpstream: GHL failed (5xx) or answered something unreadable.
	ErrUpstream = errors.New("GHL upstream failure")
	// ErrUnreachable: no answer at all (network, TLS, credential source).
	ErrUnreachable = errors.New("GHL unreachable")
)

// StepError is a failed step of a clone: which request, what GHL answered,
// and what the operator should do.
type StepError struct {
	// Step names the request: "list contacts (page 2)", "get contact X",
	// "list tasks of contact X", "list notes of contact X".
	Step string
	// Status is GHL's HTTP status, 0 when there was no answer.
	Status int
	// Message is GHL's own message from the answer body, if any.
	Message string
	// Hint says what to do about it.
	Hint string
	// Err is one of the kinds above, possibly wrapping the transport's
	// error.
	Err error
}

func (e *StepError) Error() string {
	var b strings.Builder
	b.WriteString("clone: ")
	b.WriteString(e.Step)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "GHL answered %d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			fmt.Fprintf(&b, " (%s)", e.Message)
		}
	} else if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// statusError classifies an unsuccessful answer and says what to do.
func statusError(step string, status int, message, location string, perContact bool) *StepError {
	e := &StepError{Step: step, Status: status, Message: message}
	switch {
	case status == http.StatusUnauthorized:
		e.Err = ErrUnauthorized
		e.Hint = "set GHL_PRIVATE_INTEGRATION_TOKEN to a Private Integration Token of location " + location +
			" with the contacts.readonly scope (or configure upstream.oauth), then run again"
	case status == http.StatusForbidden:
		e.Err = ErrForbidden
		e.Hint = "the upstream token is not allowed to read location " + location + ": use a token of that sub-account"
	case status == http.StatusNotFound, perContact && status == http.StatusBadRequest:
		// GHL answers 400 "Contact not found" for an unknown contact.
		e.Err = ErrNotFound
		e.Hint = "the record was deleted while cloning; it is skipped"
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		e.Err = ErrRejected
		e.Hint = "check --location (" + location + ") and upstream.base_url"
	case status == http.StatusTooManyRequests:
		e.Err = ErrRateLimited
		e.Hint = "GHL kept answering 429: run again later or with a smaller --limit"
	default:
		e.Err = ErrUpstream
		e.Hint = "GHL is failing: run again later"
	}
	return e
}
