package proxy

import (
	"crypto/tls"
	"net/netip"
	"path/filepath"
	"testing"
)

func TestPoolServesOwnAddressLocally(t *testing.T) {
	p, err := NewPool(filepath.Join(t.TempDir(), "machined.sock"), func(string) *tls.Config { return &tls.Config{} })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	self := netip.MustParseAddr("10.5.0.2")
	p.isLocal = func(a netip.Addr) bool { return a == self }
	for target, local := range map[string]bool{
		"10.5.0.2": true, "10.5.0.2:50000": true, "10.5.0.2:50001": false, "10.5.0.3": false, "node-1": false,
	} {
		cc, err := p.Remote(target)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if got := cc == p.Local(); got != local {
			t.Errorf("Remote(%q) served locally: %v, want %v", target, got, local)
		}
	}
}
