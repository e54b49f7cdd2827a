package credential

import "testing"

func TestAuthorizationReusedPerToken(t *testing.T) {
	tr := NewProxyTransport(nil, nil, "").(*transport)
	first := tr.authorization("tok-1")
	if len(first) != 1 || first[0] != "Bearer tok-1" {
		t.Fatalf("authorization(tok-1) = %q; want [Bearer tok-1]", first)
	}
	if allocs := testing.AllocsPerRun(100, func() { tr.authorization("tok-1") }); allocs != 0 {
		t.Errorf("authorization of the same token allocated %v times per call; want 0", allocs)
	}
	if got := tr.authorization("tok-2"); len(got) != 1 || got[0] != "Bearer tok-2" {
		t.Errorf("authorization(tok-2) after a rotation = %q; want [Bearer tok-2]", got)
	}
	if first[0] != "Bearer tok-1" {
		t.Errorf("the earlier token's value changed to %q; want it left as it was", first[0])
	}
}
