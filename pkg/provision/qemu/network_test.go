package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// rootNetwork sets up a cluster network on a free subnet for a root test;
// it is torn down when the test ends.
func rootNetwork(t *testing.T) (Network, netip.Prefix) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace, links and taps")
	}
	names := networkNames(t.TempDir())
	var subnet netip.Prefix
	for i := range 200 {
		p := netip.MustParsePrefix(fmt.Sprintf("10.249.%d.0/24", (os.Getpid()+i)%200+1))
		if used, err := subnetInUse(p); err == nil && used == "" {
			subnet = p
			break
		}
	}
	if !subnet.IsValid() {
		t.Fatal("no free /24 in 10.249.0.0/16")
	}
	gw := netip.PrefixFrom(gatewayOf(subnet), 24)
	if err := names.setup(gw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := names.teardown(); err != nil {
			t.Error(err)
		}
	})
	return names, subnet
}

// nsHandle is a netlink handle inside the cluster namespace.
func nsHandle(t *testing.T, n Network) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(n.nsPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// TestNetworkRoot builds a cluster network, plays a node on a veth port of
// its bridge (DHCP lease from the server on the host link, then the config
// over HTTP from the gateway), checks a node tap, and removes it all.
func TestNetworkRoot(t *testing.T) {
	names, subnet := rootNetwork(t)
	gw := gatewayOf(subnet)
	h := nsHandle(t, names)

	host, err := netlink.LinkByName(names.HostLink)
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := netlink.AddrList(host, netlink.FAMILY_V4)
	if len(addrs) != 1 || !addrs[0].IP.Equal(gw.AsSlice()) {
		t.Errorf("host link addresses %v, want %s", addrs, gw)
	}
	br, err := h.LinkByName(names.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if up, err := h.LinkByName(names.Uplink); err != nil || up.Attrs().MasterIndex != br.Attrs().Index {
		t.Fatalf("uplink %v is not a port of %s: %v", up, names.Bridge, err)
	}
	if used, _ := subnetInUse(subnet); used == "" {
		t.Error("the cluster's subnet is not seen in use")
	}
	if err := names.setup(netip.PrefixFrom(gw, 24)); err == nil {
		t.Error("a second setup of the same network succeeded")
	}

	// A node tap: attached to the bridge while the file is open.
	tap, err := openTap(names, "tap1")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := h.LinkByName("tap1"); err != nil || l.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("tap1 is not a port of the bridge: %v %v", l, err)
	}
	tap.Close()

	// A node: a veth pair inside the namespace, one end on the bridge.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0"}, PeerName: "node0-port"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	node, _ := h.LinkByName("node0")
	port, _ := h.LinkByName("node0-port")
	if err := h.LinkSetMaster(port, br); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{node, port} {
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	nodeIP := gw.Next()
	spec := &Spec{Cluster: "t", StateDir: t.TempDir(), Network: subnet, Gateway: gw, Net: names,
		Nodes: []NodeSpec{{Name: "t-worker-1", IP: nodeIP, MAC: node.Attrs().HardwareAddr.String()}}}
	spec.Nodes[0].Config = spec.StateDir + "/t-worker-1.yaml"
	if err := os.WriteFile(spec.Nodes[0].Config, []byte("machine: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	table, err := newLeaseTable(spec)
	if err != nil {
		t.Fatal(err)
	}
	acked := make(chan string, 4)
	d, err := startDHCP(names.HostLink, table, slog.New(slog.DiscardHandler), func(n string) { acked <- n })
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lease *nclient4.Lease
	err = inNetns(names.Netns, func() error {
		c, err := nclient4.New("node0", nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(5))
		if err != nil {
			return err
		}
		defer c.Close()
		lease, err = c.Request(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("DHCP from inside the cluster network: %v", err)
	}
	if !lease.ACK.YourIPAddr.Equal(nodeIP.AsSlice()) || !lease.ACK.Router()[0].Equal(gw.AsSlice()) {
		t.Errorf("lease %s", lease.ACK.Summary())
	}
	if got := <-acked; got != "t-worker-1" {
		t.Errorf("ack reported for %q", got)
	}

	// The config, fetched from the node's leased address.
	if err := h.AddrAdd(node, &netlink.Addr{IPNet: &net.IPNet{IP: nodeIP.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(gw.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newConfigServer(spec, slog.New(slog.DiscardHandler), nil, nil), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := ConfigURL(netip.MustParseAddrPort(ln.Addr().String()), "t-worker-1")
	var conn net.Conn
	err = inNetns(names.Netns, func() error {
		var err error
		conn, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp4", ln.Addr().String())
		return err
	})
	if err != nil {
		t.Fatalf("dial the config server from the node: %v", err)
	}
	defer conn.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "machine: {}\n" {
		t.Errorf("GET %s from %s: %d %q", url, nodeIP, resp.StatusCode, body)
	}

	removed, err := names.teardown()
	if err != nil || len(removed) != 2 {
		t.Errorf("teardown removed %v, %v", removed, err)
	}
	if l, n := names.present(); l || n {
		t.Errorf("after teardown: host link %v, namespace %v", l, n)
	}
}
