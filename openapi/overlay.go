package openapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/spec"
)

// Overlays use github.com/theory/jsonpath, a complete RFC 9535 JSONPath with
// no runtime dependencies (about 4k lines). RFC 9535 is what Overlay 1.0
// names for targets, and the library returns every match with its normalized
// path, which is what applying update and remove needs. The RFC filter syntax
// is `[?@.name == 'Version']`; the older `[?(@.name == 'Version')]` also
// parses, since a parenthesised expression is a valid filter.

// applyOverlay applies one Overlay 1.0 document to tree in place. It returns
// warnings (a target that matches nothing, an update that cannot apply) and a
// *LoadError for an overlay that is not usable at all.
func applyOverlay(file string, data []byte, tree map[string]any) ([]Warning, error) {
	ov, err := parseRaw(data)
	if err != nil {
		return nil, &LoadError{File: file, Reason: err.Error(), Err: err}
	}
	version := fmt.Sprint(ov["overlay"])
	if _, ok := ov["overlay"]; !ok || !strings.HasPrefix(version, "1.") {
		return nil, &LoadError{File: file, Pointer: "/overlay", Reason: fmt.Sprintf("not an Overlay 1.x document (overlay: %q)", version)}
	}
	actions, ok := ov["actions"].([]any)
	if !ok {
		return nil, &LoadError{File: file, Pointer: "/actions", Reason: "actions must be a list"}
	}
	var warns []Warning
	warn := func(pointer, format string, args ...any) {
		warns = append(warns, Warning{File: file, Pointer: pointer, Message: fmt.Sprintf(format, args...)})
	}
	for i, a := range actions {
		ap := ptr("/actions", fmt.Sprint(i))
		action := asMap(a)
		target := asString(action["target"])
		if target == "" {
			return warns, &LoadError{File: file, Pointer: ptr(ap, "target"), Reason: "action has no target"}
		}
		path, err := jsonpath.Parse(target)
		if err != nil {
			return warns, &LoadError{File: file, Pointer: ptr(ap, "target"), Reason: fmt.Sprintf("bad JSONPath %q: %v", target, err), Err: err}
		}
		nodes := path.SelectLocated(tree)
		if len(nodes) == 0 {
			warn(ptr(ap, "target"), "target %s matches nothing", target)
			continue
		}
		if remove, _ := action["remove"].(bool); remove {
			removeNodes(nodes, tree, func(p string) { warn(ptr(ap, "target"), "cannot remove the document root (%s)", p) })
			continue
		}
		update, hasUpdate := action["update"]
		if !hasUpdate {
			warn(ap, "action has neither update nor remove: true; ignored")
			continue
		}
		for _, n := range nodes {
			switch t := n.Node.(type) {
			case map[string]any:
				u, ok := update.(map[string]any)
				if !ok {
					warn(ptr(ap, "update"), "target %s is an object but update is not; skipped", n.Path.Pointer())
					continue
				}
				mergeUpdate(t, u)
			case []any:
				setAt(tree, n.Path, append(t, deepCopy(update)))
			default:
				warn(ptr(ap, "target"), "target %s is neither an object nor an array; skipped", n.Path.Pointer())
			}
		}
	}
	return warns, nil
}

// mergeUpdate merges src into dst: objects merge recursively, arrays append,
// anything else replaces.
func mergeUpdate(dst, src map[string]any) {
	for k, sv := range src {
		switch s := sv.(type) {
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				mergeUpdate(d, s)
				continue
			}
		case []any:
			if d, ok := dst[k].([]any); ok {
				dst[k] = append(d, deepCopy(s).([]any)...)
				continue
			}
		}
		dst[k] = deepCopy(sv)
	}
}

// deepCopy copies a generic tree so that one update applied at several
// targets does not alias between them.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// parentOf walks to the container holding the last selector of path.
func parentOf(tree map[string]any, path spec.NormalizedPath) (any, spec.NormalSelector) {
	var cur any = tree
	for _, sel := range path[:len(path)-1] {
		switch s := sel.(type) {
		case spec.Name:
			cur = asMap(cur)[string(s)]
		case spec.Index:
			arr := asSlice(cur)
			if int(s) < 0 || int(s) >= len(arr) {
				return nil, nil
			}
			cur = arr[s]
		}
	}
	return cur, path[len(path)-1]
}

// setAt replaces the value at path (used when appending grows an array).
func setAt(tree map[string]any, path spec.NormalizedPath, v any) {
	if len(path) == 0 {
		return
	}
	parent, last := parentOf(tree, path)
	switch s := last.(type) {
	case spec.Name:
		if m := asMap(parent); m != nil {
			m[string(s)] = v
		}
	case spec.Index:
		if arr := asSlice(parent); int(s) >= 0 && int(s) < len(arr) {
			arr[s] = v
		}
	}
}

// removeNodes deletes the located nodes. Array elements go from the highest
// index down so that earlier removals do not shift later ones.
func removeNodes(nodes jsonpath.LocatedNodeList, tree map[string]any, rootWarn func(string)) {
	nodes = nodes.Deduplicate()
	list := slices.Collect(nodes.All())
	slices.SortFunc(list, func(a, b *spec.LocatedNode) int { return b.Path.Compare(a.Path) })
	for _, n := range list {
		if len(n.Path) == 0 {
			rootWarn(n.Path.String())
			continue
		}
		parent, last := parentOf(tree, n.Path)
		switch s := last.(type) {
		case spec.Name:
			delete(asMap(parent), string(s))
		case spec.Index:
			arr := asSlice(parent)
			if int(s) < 0 || int(s) >= len(arr) {
				continue
			}
			// Rebuild the slice and store it back where it lives.
			nv := append(append([]any{}, arr[:s]...), arr[s+1:]...)
			setAt(tree, n.Path[:len(n.Path)-1], nv)
		}
	}
}
