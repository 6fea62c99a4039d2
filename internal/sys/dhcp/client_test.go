//go:build linux

package dhcp_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/dhcp/dhcptest"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/internal/sys/netlink/nettest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestClient runs the client in one namespace against the test server in
// another, over a veth pair.
func TestClient(t *testing.T) {
	node, srv := nettest.Namespace(t), nettest.Namespace(t)
	nettest.Veth(t, node, "eth0", srv, "dhcp0")
	nettest.Up(t, srv, "dhcp0", "10.77.0.1/24")
	nettest.Up(t, node, "eth0")
	server := dhcptest.Start(t, srv, "dhcp0", dhcptest.Options{
		Server: netip.MustParseAddr("10.77.0.1"), Address: netip.MustParsePrefix("10.77.0.10/24"),
		Router: netip.MustParseAddr("10.77.0.1"), DNS: []netip.Addr{netip.MustParseAddr("10.77.0.53")},
		Hostname: "worker-1", Domain: "lab", Lease: 10 * time.Minute,
	})

	var c dhcp.Client
	err := netlink.Do(node, func() error {
		var err error
		c, err = dhcp.Open("eth0", dhcp.Options{Timeout: time.Second, Retries: 5})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	l, err := c.Request(ctx)
	if err != nil {
		t.Fatalf("Request: %v (server saw %v)", err, server.Received())
	}
	if l.Address != netip.MustParsePrefix("10.77.0.10/24") || l.Gateway != netip.MustParseAddr("10.77.0.1") ||
		l.Hostname != "worker-1" || l.Domain != "lab" || l.Duration != 10*time.Minute {
		t.Fatalf("lease %+v", l)
	}
	renewed, err := c.Renew(ctx, l)
	if err != nil || !renewed.Acquired.After(l.Acquired) || renewed.Address != l.Address {
		t.Fatalf("Renew = %+v, %v", renewed, err)
	}
	rebound, err := c.Rebind(ctx, renewed)
	if err != nil || rebound.Address != l.Address {
		t.Fatalf("Rebind = %+v, %v", rebound, err)
	}
	server.NAK(true)
	if _, err := c.Renew(ctx, rebound); !errors.Is(err, dhcp.ErrNAK) {
		t.Fatalf("Renew refused = %v, want ErrNAK", err)
	}
	if err := c.Release(rebound); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for server.Count(dhcpv4.MessageTypeRelease) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no release seen: %v", server.Received())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
