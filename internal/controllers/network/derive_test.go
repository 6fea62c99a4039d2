package network_test

import (
	"reflect"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// kernelLinks are the links of the derivation tests: lo, two NICs, a
// bridge and a veth.
var kernelLinks = []resnet.LinkStatusSpec{
	{Name: "eth1", Kind: "device", Physical: true, HardwareAddr: "52:54:00:aa:bb:02"},
	{Name: "lo", Kind: "loopback"},
	{Name: "eth0", Kind: "device", Physical: true, HardwareAddr: "52:54:00:aa:bb:01"},
	{Name: "br0", Kind: "bridge", HardwareAddr: "02:00:00:00:00:01"},
	{Name: "veth9", Kind: "veth", HardwareAddr: "02:00:00:00:00:02"},
}

func withInterfaces(ifaces ...v1alpha1.Interface) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Network.Interfaces = ifaces
	return m
}

func up(name, origin string) resnet.LinkSpecSpec {
	return resnet.LinkSpecSpec{Name: name, Up: true, Origin: origin}
}

func dhcpOn(name, origin string) resnet.LinkSpecSpec {
	return resnet.LinkSpecSpec{Name: name, Up: true, DHCP: true, Origin: origin}
}

func mustIP(t *testing.T, v string) *cmdline.IPConfig {
	t.Helper()
	ip, err := cmdline.ParseIP(v)
	if err != nil {
		t.Fatal(err)
	}
	return &ip
}

func TestDerive(t *testing.T) {
	const def, cfg, cmd = resnet.OriginDefault, resnet.OriginConfig, resnet.OriginCmdline
	for _, tt := range []struct {
		name   string
		config *v1alpha1.MachineConfig
		ip     string
		want   network.Desired
	}{
		{name: "no config: DHCP on every physical link", want: network.Desired{
			Links: []resnet.LinkSpecSpec{dhcpOn("eth0", def), dhcpOn("eth1", def), up("lo", def)},
		}},
		{name: "config without interfaces: same", config: withInterfaces(), want: network.Desired{
			Links: []resnet.LinkSpecSpec{dhcpOn("eth0", def), dhcpOn("eth1", def), up("lo", def)},
		}},
		{name: "interfaces by name and by MAC", config: withInterfaces(
			v1alpha1.Interface{Interface: "eth0", MTU: 1450, Addresses: []string{"10.5.0.2/24", "fd00::2/64"},
				Routes: []v1alpha1.Route{{Network: "0.0.0.0/0", Gateway: "10.5.0.1"}, {Network: "192.168.9.1/24", Metric: 10}}},
			v1alpha1.Interface{DeviceSelector: &v1alpha1.DeviceSelector{HardwareAddr: "52:54:00:AA:*:02"}, DHCP: true},
			v1alpha1.Interface{Interface: "br0"},
			v1alpha1.Interface{Interface: "missing", DHCP: true},
		), want: network.Desired{
			Links: []resnet.LinkSpecSpec{
				up("br0", cfg), {Name: "eth0", Up: true, MTU: 1450, Origin: cfg}, dhcpOn("eth1", cfg), up("lo", def),
			},
			Addresses: []resnet.AddressSpecSpec{
				{Link: "eth0", Address: "10.5.0.2/24", Origin: cfg}, {Link: "eth0", Address: "fd00::2/64", Origin: cfg},
			},
			Routes: []resnet.RouteSpecSpec{
				{Link: "eth0", Destination: "0.0.0.0/0", Gateway: "10.5.0.1", Metric: 1024, Origin: cfg},
				{Link: "eth0", Destination: "192.168.9.0/24", Metric: 10, Origin: cfg},
			},
		}},
		{name: "ignored link and unconfigured physical link", config: withInterfaces(
			v1alpha1.Interface{Interface: "eth1", Ignore: true},
		), ip: "dhcp", want: network.Desired{
			Links: []resnet.LinkSpecSpec{up("eth0", def), up("lo", def)},
		}},
		{name: "first matching entry wins", config: withInterfaces(
			v1alpha1.Interface{DeviceSelector: &v1alpha1.DeviceSelector{HardwareAddr: "52:54:00:*"}, MTU: 9000},
			v1alpha1.Interface{Interface: "eth0", DHCP: true},
		), want: network.Desired{
			Links: []resnet.LinkSpecSpec{{Name: "eth0", Up: true, MTU: 9000, Origin: cfg}, {Name: "eth1", Up: true, MTU: 9000, Origin: cfg}, up("lo", def)},
		}},
		{name: "ip= static on a device", ip: "10.0.2.15::10.0.2.2:255.255.255.0::eth1:off", want: network.Desired{
			Links:     []resnet.LinkSpecSpec{up("eth0", def), up("eth1", cmd), up("lo", def)},
			Addresses: []resnet.AddressSpecSpec{{Link: "eth1", Address: "10.0.2.15/24", Origin: cmd}},
			Routes:    []resnet.RouteSpecSpec{{Link: "eth1", Destination: "0.0.0.0/0", Gateway: "10.0.2.2", Metric: 1024, Origin: cmd}},
		}},
		{name: "ip= static without device: first physical link", ip: "10.0.2.15", want: network.Desired{
			Links:     []resnet.LinkSpecSpec{up("eth0", cmd), up("eth1", def), up("lo", def)},
			Addresses: []resnet.AddressSpecSpec{{Link: "eth0", Address: "10.0.2.15/8", Origin: cmd}},
		}},
		{name: "ip= static on a virtual link", ip: "10.0.2.15:::24::veth9", want: network.Desired{
			Links:     []resnet.LinkSpecSpec{up("eth0", def), up("eth1", def), up("lo", def), up("veth9", cmd)},
			Addresses: []resnet.AddressSpecSpec{{Link: "veth9", Address: "10.0.2.15/24", Origin: cmd}},
		}},
		{name: "ip= dhcp on a device", ip: ":::::eth1:dhcp", want: network.Desired{
			Links: []resnet.LinkSpecSpec{up("eth0", def), dhcpOn("eth1", cmd), up("lo", def)},
		}},
		{name: "ip=dhcp on every physical link", ip: "dhcp", want: network.Desired{
			Links: []resnet.LinkSpecSpec{dhcpOn("eth0", cmd), dhcpOn("eth1", cmd), up("lo", def)},
		}},
		{name: "ip=off", ip: "off", want: network.Desired{
			Links: []resnet.LinkSpecSpec{up("eth0", def), up("eth1", def), up("lo", def)},
		}},
		{name: "config interfaces win over ip=", config: withInterfaces(v1alpha1.Interface{Interface: "eth0", DHCP: true}),
			ip: "10.0.2.15", want: network.Desired{
				Links: []resnet.LinkSpecSpec{dhcpOn("eth0", cfg), up("eth1", def), up("lo", def)},
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ip *cmdline.IPConfig
			if tt.ip != "" {
				ip = mustIP(t, tt.ip)
			}
			got := network.Derive(tt.config, kernelLinks, ip)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Derive:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
