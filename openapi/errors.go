package openapi

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound reports that no operation of the spec matches a request path.
var ErrNotFound = errors.New("no such operation")

// ErrMethodNotAllowed reports that a path matched but not with this method.
// Match returns it wrapped in a *MethodNotAllowedError.
var ErrMethodNotAllowed = errors.New("method not allowed")

// MethodNotAllowedError carries the methods the matched path does allow,
// sorted, ready for an Allow header.
type MethodNotAllowedError struct {
	Allow []string
}

func (e *MethodNotAllowedError) Error() string {
	return fmt.Sprintf("method not allowed (allow: %s)", strings.Join(e.Allow, ", "))
}

// Unwrap lets errors.Is(err, ErrMethodNotAllowed) hold.
func (e *MethodNotAllowedError) Unwrap() error { return ErrMethodNotAllowed }

// LoadError refuses a document that cannot be served: it does not parse, it
// is not OpenAPI 3.x, an overlay cannot be applied, or a $ref resolves nowhere.
type LoadError struct {
	File    string // the file at fault (the document, an overlay, or a referenced file)
	Pointer string // JSON pointer (RFC 6901) into File; "" is the whole file
	Reason  string
	Err     error // the underlying error, if any
}

func (e *LoadError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("load spec %s at %s: %s", e.File, p, e.Reason)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Warning is a quirk of a document that the loader repaired or tolerated.
type Warning struct {
	File    string // the file the quirk is in
	Pointer string // JSON pointer into File ("" when the validator gave none)
	Message string
}

func (w Warning) String() string {
	if w.Pointer == "" {
		return w.File + ": " + w.Message
	}
	return w.File + " " + w.Pointer + ": " + w.Message
}
