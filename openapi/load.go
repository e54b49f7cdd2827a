package openapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed ghl-contacts.yaml
var embeddedSpec []byte

// EmbeddedName is the Source of the Spec returned by Default.
const EmbeddedName = "openapi/ghl-contacts.yaml"

// defaultSpec parses the embedded document once. It is written once, on first
// use, and never changes after: the only package-level state.
var defaultSpec = sync.OnceValues(func() (*Spec, error) {
	return loadData(context.Background(), EmbeddedName, embeddedSpec, nil, func(name string) ([]byte, error) {
		return nil, fmt.Errorf("read %s: %w (the embedded spec has no external references)", name, fs.ErrNotExist)
	})
})

// Default returns ghlgate's own description of the Contacts API, parsed once.
// The returned Spec is shared: treat it as read-only.
func Default() (*Spec, error) { return defaultSpec() }

// EmbeddedYAML returns a copy of the embedded ghl-contacts.yaml.
func EmbeddedYAML() []byte { return append([]byte(nil), embeddedSpec...) }

// Load reads an OpenAPI 3.0.x document (JSON or YAML) from path, applies the
// overlays in order, repairs what a strict loader would refuse (see Warning),
// resolves relative external $refs against the document's folder, validates,
// and compiles the operations.
//
// Only local files are read: a $ref to a URL is refused.
func Load(ctx context.Context, path string, overlays ...string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{File: path, Reason: "read: " + err.Error(), Err: err}
	}
	return loadData(ctx, path, data, overlays, os.ReadFile)
}

// loader carries one Load: the files read so far (each repaired once) and
// the warnings.
type loader struct {
	ctx   context.Context
	read  func(string) ([]byte, error)
	root  string
	files map[string]*rawFile
	warns []Warning
}

type rawFile struct {
	name string
	tree map[string]any
	json []byte
}

func loadData(ctx context.Context, name string, data []byte, overlays []string, read func(string) ([]byte, error)) (*Spec, error) {
	name = filepath.ToSlash(filepath.Clean(name))
	l := &loader{ctx: ctx, read: read, root: name, files: map[string]*rawFile{}}

	tree, err := parseRaw(data)
	if err != nil {
		return nil, &LoadError{File: name, Reason: err.Error(), Err: err}
	}
	for _, o := range overlays {
		od, err := os.ReadFile(o)
		if err != nil {
			return nil, &LoadError{File: o, Reason: "read overlay: " + err.Error(), Err: err}
		}
		ws, err := applyOverlay(o, od, tree)
		l.warns = append(l.warns, ws...)
		if err != nil {
			return nil, err
		}
	}
	version := asString(tree["openapi"])
	switch {
	case strings.HasPrefix(version, "3.0."), version == "3.0":
	case strings.HasPrefix(version, "3."):
		l.warns = append(l.warns, Warning{File: name, Pointer: "/openapi", Message: fmt.Sprintf("openapi %s is read as 3.0", version)})
	default:
		if sw, ok := tree["swagger"]; ok {
			version = "swagger " + fmt.Sprint(sw)
		}
		return nil, &LoadError{File: name, Pointer: "/openapi", Reason: fmt.Sprintf("not an OpenAPI 3.0 document (openapi: %q)", version)}
	}
	root := l.add(name, tree)
	if err := l.checkRefs(root); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}

	kl := &openapi3.Loader{Context: ctx, IsExternalRefsAllowed: true, ReadFromURIFunc: l.readURI}
	doc, err := kl.LoadFromDataWithPath(root.json, &url.URL{Path: name})
	if err != nil {
		return nil, &LoadError{File: name, Reason: "openapi: " + err.Error(), Err: err}
	}
	l.checkExamples(doc)
	l.validate(doc)
	s := &Spec{Doc: doc, Source: name}
	l.notice(doc)
	s.compile(l)
	sortWarnings(l.warns)
	s.Warnings = l.warns
	return s, nil
}

// add repairs a parsed file and remembers it.
func (l *loader) add(name string, tree map[string]any) *rawFile {
	r := &rawRepairer{file: name, tree: tree}
	r.run()
	l.warns = append(l.warns, r.warn...)
	data, err := json.Marshal(tree)
	if err != nil {
		// The tree came from JSON or YAML and holds only JSON types.
		panic(fmt.Sprintf("openapi: marshal repaired %s: %v", name, err))
	}
	f := &rawFile{name: name, tree: tree, json: data}
	l.files[name] = f
	return f
}

// file returns a referenced file, reading and repairing it on first use.
func (l *loader) file(name string) (*rawFile, error) {
	if f, ok := l.files[name]; ok {
		return f, nil
	}
	data, err := l.read(name)
	if err != nil {
		return nil, err
	}
	tree, err := parseRaw(data)
	if err != nil {
		return nil, err
	}
	return l.add(name, tree), nil
}

// join resolves a reference's file part against the file it appears in.
func join(from, ref string) string {
	if path.IsAbs(ref) {
		return path.Clean(ref)
	}
	return path.Clean(path.Join(path.Dir(from), ref))
}

// checkRefs follows every $ref from f, reading the files they name, and
// refuses the document with the exact place of the first one that resolves
// nowhere. kin would fail too, without saying where.
func (l *loader) checkRefs(f *rawFile) error {
	done := map[string]bool{}
	queue := []*rawFile{f}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if done[cur.name] {
			continue
		}
		done[cur.name] = true
		var sites []refSite
		collectRefs(cur.tree, "", "", &sites)
		for _, s := range sites {
			filePart, frag, _ := strings.Cut(s.ref, "#")
			target := cur
			if filePart != "" {
				u, err := url.Parse(filePart)
				if err != nil || (u.Scheme != "" && u.Scheme != "file") {
					return &LoadError{File: cur.name, Pointer: s.pointer, Reason: fmt.Sprintf("$ref %q is not a local file (only local files are read)", s.ref), Err: err}
				}
				other, err := l.file(join(cur.name, u.Path))
				if err != nil {
					return &LoadError{File: cur.name, Pointer: s.pointer, Reason: fmt.Sprintf("$ref %q resolves nowhere: %v", s.ref, err), Err: err}
				}
				target = other
				queue = append(queue, other)
			}
			if frag, err := url.PathUnescape(frag); err != nil {
				return &LoadError{File: cur.name, Pointer: s.pointer, Reason: fmt.Sprintf("$ref %q has a malformed fragment", s.ref), Err: err}
			} else if _, ok := resolvePointer(target.tree, frag); !ok {
				return &LoadError{File: cur.name, Pointer: s.pointer, Reason: fmt.Sprintf("$ref %q resolves nowhere: no %s in %s", s.ref, frag, target.name)}
			}
		}
	}
	return nil
}

// readURI serves kin the repaired files. It reads local files only, never a
// URL, whatever the document says.
func (l *loader) readURI(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
	if u.Scheme != "" && u.Scheme != "file" {
		return nil, fmt.Errorf("read %s: only local files are read", u)
	}
	f, err := l.file(path.Clean(u.Path))
	if err != nil {
		return nil, err
	}
	return f.json, nil
}

func (l *loader) warnf(file, pointer, format string, args ...any) {
	l.warns = append(l.warns, Warning{File: file, Pointer: pointer, Message: fmt.Sprintf(format, args...)})
}

// validate runs kin's validator leniently (examples are checked separately,
// one warning each) and turns whatever it still finds into warnings: the
// document is served anyway.
func (l *loader) validate(doc *openapi3.T) {
	defer func() {
		// The validator walks whatever the document holds; a panic in it
		// must not take the gateway down with a servable document.
		if r := recover(); r != nil {
			l.warnf(l.root, "", "validate: the validator failed (%v); document served unvalidated", r)
		}
	}()
	err := doc.Validate(l.ctx,
		openapi3.EnableMultiError(),
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaPatternValidation(),
	)
	for _, e := range flatten(err) {
		l.warnf(l.root, "", "validate: %s", firstLine(e))
	}
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []error
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
