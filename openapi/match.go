package openapi

import (
	"net/url"
	"sort"
	"strings"
)

// The matcher is a segment trie built once by compile. At each segment a
// literal child is tried first, then a partial template ("{name}.json"),
// then a whole-segment variable, backtracking when a branch has no
// operation for the method: so /contacts/search/duplicate beats
// /contacts/{contactId}/..., and /contacts/business/{businessId} beats
// /contacts/{contactId}/tasks. Like Express (which serves HighLevel), the
// choice is per method: POST /contacts/x/campaigns/removeAll still reaches
// POST /contacts/{contactId}/campaigns/{campaignId}.
//
// It does not use kin's gorillamux router, which matches the Host header
// against the spec's servers and has no literal-over-template precedence.

// maxParams bounds the variables of one template (HighLevel's have 2).
const maxParams = 16

const methodCount = 8 // len(httpMethods)

type node struct {
	lit      map[string]*node
	patterns []*patternEdge
	param    *node
	ops      [methodCount]*Operation
	mask     uint16 // bit i set when ops[i] != nil
}

// patternEdge is a segment with a variable and fixed text around it.
type patternEdge struct {
	prefix, suffix string
	child          *node
}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "PUT":
		return 1
	case "POST":
		return 2
	case "DELETE":
		return 3
	case "OPTIONS":
		return 4
	case "HEAD":
		return 5
	case "PATCH":
		return 6
	case "TRACE":
		return 7
	}
	return -1
}

// insert adds an operation; it returns the operation already there when two
// templates match exactly the same requests.
func (n *node) insert(o *Operation) *Operation {
	cur := n
	for _, seg := range splitTemplate(o.Path) {
		open := strings.IndexByte(seg, '{')
		switch {
		case open < 0:
			if cur.lit == nil {
				cur.lit = map[string]*node{}
			}
			next := cur.lit[seg]
			if next == nil {
				next = &node{}
				cur.lit[seg] = next
			}
			cur = next
		case open == 0 && strings.IndexByte(seg, '}') == len(seg)-1:
			if cur.param == nil {
				cur.param = &node{}
			}
			cur = cur.param
		default:
			closing := strings.IndexByte(seg, '}')
			prefix, suffix := seg[:open], seg[closing+1:]
			var next *node
			for _, pe := range cur.patterns {
				if pe.prefix == prefix && pe.suffix == suffix {
					next = pe.child
				}
			}
			if next == nil {
				next = &node{}
				cur.patterns = append(cur.patterns, &patternEdge{prefix: prefix, suffix: suffix, child: next})
			}
			cur = next
		}
	}
	i := methodIndex(o.Method)
	if prev := cur.ops[i]; prev != nil {
		return prev
	}
	cur.ops[i] = o
	cur.mask |= 1 << i
	return nil
}

// matchState is the per-call state of one Match, kept on the stack.
type matchState struct {
	method int
	mask   uint16
	vals   [maxParams]string
	n      int
}

// Match finds the operation for a request. path is relative to the API root
// (no /staging prefix, no query), preferably r.URL.EscapedPath() so that an
// encoded slash stays inside its segment. "/contacts" and "/contacts/" are the
// same path. Path parameters are percent-decoded once; a segment that is "."
// or "..", or decodes to something containing "/" or equal to "." or "..", is
// never matched (ErrNotFound). A path that exists with other methods gives a
// *MethodNotAllowedError.
func (s *Spec) Match(method, path string) (*Operation, map[string]string, error) {
	var st matchState
	op, err := s.match(&st, method, path)
	if err != nil || len(op.PathParams) == 0 {
		return op, nil, err
	}
	params := make(map[string]string, st.n)
	for i, name := range op.PathParams {
		params[name] = st.vals[i]
	}
	return op, params, nil
}

// MatchValues is Match without the map: it appends the path parameter values
// to vals in the order of op.PathParams, so a caller that passes a reused
// buffer matches with no allocation.
func (s *Spec) MatchValues(method, path string, vals []string) (*Operation, []string, error) {
	var st matchState
	op, err := s.match(&st, method, path)
	if err != nil {
		return nil, vals, err
	}
	return op, append(vals, st.vals[:st.n]...), nil
}

func (s *Spec) match(st *matchState, method, path string) (*Operation, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	if !safePath(path) {
		return nil, ErrNotFound
	}
	st.method = methodIndex(method)
	op := st.walk(s.root, path, path == "")
	if op == nil {
		if st.mask != 0 {
			return nil, &MethodNotAllowedError{Allow: allowList(st.mask)}
		}
		return nil, ErrNotFound
	}
	return op, nil
}

// safePath rejects dot segments and encoded slashes or dots before any
// matching, so no branch can see them.
func safePath(path string) bool {
	for path != "" {
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			path = ""
		}
		if seg == "." || seg == ".." {
			return false
		}
		if strings.IndexByte(seg, '%') >= 0 {
			dec, err := url.PathUnescape(seg)
			if err != nil || dec == "." || dec == ".." || strings.IndexByte(dec, '/') >= 0 {
				return false
			}
		}
	}
	return true
}

func (st *matchState) walk(n *node, rest string, end bool) *Operation {
	if end {
		st.mask |= n.mask
		if st.method >= 0 {
			return n.ops[st.method]
		}
		return nil
	}
	seg, next, last := rest, "", true
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, next, last = rest[:i], rest[i+1:], false
	}
	dec := seg
	if strings.IndexByte(seg, '%') >= 0 {
		dec, _ = url.PathUnescape(seg) // safePath checked it decodes
	}
	if child := n.lit[dec]; child != nil {
		if op := st.walk(child, next, last); op != nil {
			return op
		}
	}
	if dec == "" || st.n >= maxParams {
		return nil
	}
	for _, pe := range n.patterns {
		if len(dec) > len(pe.prefix)+len(pe.suffix) && strings.HasPrefix(dec, pe.prefix) && strings.HasSuffix(dec, pe.suffix) {
			st.vals[st.n] = dec[len(pe.prefix) : len(dec)-len(pe.suffix)]
			st.n++
			if op := st.walk(pe.child, next, last); op != nil {
				return op
			}
			st.n--
		}
	}
	if n.param != nil {
		st.vals[st.n] = dec
		st.n++
		if op := st.walk(n.param, next, last); op != nil {
			return op
		}
		st.n--
	}
	return nil
}

func allowList(mask uint16) []string {
	var out []string
	for i, m := range httpMethods {
		if mask&(1<<i) != 0 {
			out = append(out, strings.ToUpper(m))
		}
	}
	sort.Strings(out)
	return out
}
