package openapi

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// mustLoadString loads a document written inline in a test.
func mustLoadString(t *testing.T, doc string) *Spec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	return s
}
