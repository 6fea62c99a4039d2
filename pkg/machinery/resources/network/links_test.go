package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

func TestLinkResources(t *testing.T) {
	reg := resource.NewRegistry()
	if err := reg.Register(network.Definitions...); err != nil {
		t.Fatal(err)
	}
	status := network.NewLinkStatus("eth0")
	status.TypedSpec().Kind, status.TypedSpec().MTU = "device", 1400
	spec := network.NewLinkSpec("eth0")
	spec.TypedSpec().DHCP = true
	addr := network.NewAddressSpec(network.OriginConfig, "eth0", "10.5.0.2/24")
	route := network.NewRouteSpec(network.RouteSpecSpec{Link: "eth0", Destination: "0.0.0.0/0", Gateway: "10.5.0.1", Metric: 1024, Origin: network.OriginDHCP})
	lease := network.NewDHCPLease("eth0")
	lease.TypedSpec().Expires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	res := network.NewResolvers()
	res.TypedSpec().Servers = []string{"10.0.2.3"}
	for _, tt := range []struct {
		r      resource.Resource
		id     string
		column string
	}{
		{status, "eth0", "1400"},
		{spec, "eth0", "true"},
		{addr, "config/eth0/10.5.0.2/24", "10.5.0.2/24"},
		{route, "dhcp/eth0/0.0.0.0/0/10.5.0.1", "10.5.0.1"},
		{lease, "eth0", "2030-01-02T03:04:05Z"},
		{res, network.ResolversID, "10.0.2.3"},
	} {
		md := tt.r.Metadata()
		if md.ID != tt.id {
			t.Errorf("%s id %q, want %q", md.Type, md.ID, tt.id)
		}
		def, err := reg.Lookup(md.Type)
		if err != nil {
			t.Fatal(err)
		}
		row, err := def.Row(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(row, " "), tt.column) {
			t.Errorf("%s row %q lacks %q", md.Type, row, tt.column)
		}
	}
	if id := network.RouteSpecID(network.RouteSpecSpec{Link: "eth1", Destination: "10.0.0.0/8", Origin: "config"}); id != "config/eth1/10.0.0.0/8/onlink" {
		t.Errorf("on-link route id %q", id)
	}
}
