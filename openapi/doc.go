// Package openapi holds ghlgate's own description of the HighLevel Contacts
// API (ghl-contacts.yaml, embedded) and the loader that turns any OpenAPI 3.0
// document, including HighLevel's official and quirky ones, into a usable,
// validated model.
//
// Load reads a document from disk, applies OpenAPI Overlay 1.0 documents to
// it, repairs the quirks a strict 3.0 loader refuses (each one reported as a
// Warning with a JSON pointer), resolves relative external $refs, and compiles
// the operations into a segment trie for Match. Only a document that cannot be
// used at all (it does not parse, or a $ref resolves nowhere) is refused with
// a *LoadError.
//
// A *Spec is read-only once returned: share it between goroutines freely, and
// never modify its Doc.
package openapi
