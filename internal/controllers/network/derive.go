package network

import (
	"cmp"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// DefaultRouteMetric is the metric of routes that set none (config routes
// and DHCP's default route).
const DefaultRouteMetric = 1024

// Desired is what the links should look like: the output of Derive.
type Desired struct {
	// Links to bring up, with MTU and DHCP, sorted by name.
	Links []network.LinkSpecSpec
	// Addresses to add (config or cmdline origin).
	Addresses []network.AddressSpecSpec
	// Routes to add (config or cmdline origin).
	Routes []network.RouteSpecSpec
}

// Derive computes the desired links, addresses and routes from the machine
// config (nil: none), the links the kernel has and the kernel's ip=
// argument (nil: none). It is pure.
//
//   - lo and every physical link are brought up, except ignored ones.
//   - With machine.network.interfaces, each link takes the first entry that
//     selects it, by name or by MAC (deviceSelector.hardwareAddr, with "*"
//     wildcards, every matching link): MTU, DHCP, addresses, routes (metric
//     1024 unless set); an entry with ignore leaves the link alone
//     entirely. Links no entry selects are only brought up.
//   - Without interfaces (no config, maintenance mode), ip= decides: a
//     static address (with a default route through its gateway) on its
//     device, or on the first physical link; DHCP on its device or on every
//     physical link; or nothing with ip=off.
//   - Without either, DHCP runs on every physical link, so that a fresh
//     machine gets an address for maintenance mode.
func Derive(m *v1alpha1.MachineConfig, links []network.LinkStatusSpec, ip *cmdline.IPConfig) Desired {
	links = slices.SortedFunc(slices.Values(links), func(a, b network.LinkStatusSpec) int { return cmp.Compare(a.Name, b.Name) })
	entries := interfaces(m)
	var d Desired
	for _, l := range links {
		e := selectEntry(entries, l)
		switch {
		case e != nil && e.Ignore:
			continue
		case e != nil:
			d.addEntry(l.Name, e)
		case l.Kind == "loopback" || l.Physical:
			d.Links = append(d.Links, network.LinkSpecSpec{Name: l.Name, Up: true, Origin: network.OriginDefault})
		}
	}
	if len(entries) > 0 {
		return d
	}
	switch {
	case ip != nil && ip.Mode == cmdline.IPStatic:
		d.addStatic(links, ip)
	case ip != nil && ip.Mode == cmdline.IPOff:
	case ip != nil && ip.Device != "":
		if slices.ContainsFunc(links, func(l network.LinkStatusSpec) bool { return l.Name == ip.Device }) {
			l := d.ensureLink(ip.Device)
			l.DHCP, l.Origin = true, network.OriginCmdline
		}
	case ip != nil:
		d.setDHCP(physical(links), network.OriginCmdline)
	default:
		d.setDHCP(physical(links), network.OriginDefault)
	}
	return d
}

func interfaces(m *v1alpha1.MachineConfig) []v1alpha1.Interface {
	if m == nil || m.Machine == nil || m.Machine.Network == nil {
		return nil
	}
	return m.Machine.Network.Interfaces
}

// selectEntry returns the first interface entry selecting the link.
func selectEntry(entries []v1alpha1.Interface, l network.LinkStatusSpec) *v1alpha1.Interface {
	for i := range entries {
		if Selects(entries[i], l) {
			return &entries[i]
		}
	}
	return nil
}

// Selects reports whether the interface entry applies to the link: same
// name, or a MAC matching the selector's pattern ("*" matches any run of
// characters, case does not matter).
func Selects(e v1alpha1.Interface, l network.LinkStatusSpec) bool {
	if e.Interface != "" {
		return e.Interface == l.Name
	}
	if e.DeviceSelector == nil || e.DeviceSelector.HardwareAddr == "" || l.HardwareAddr == "" {
		return false
	}
	ok, err := path.Match(strings.ToLower(e.DeviceSelector.HardwareAddr), strings.ToLower(l.HardwareAddr))
	return err == nil && ok
}

func (d *Desired) addEntry(link string, e *v1alpha1.Interface) {
	d.Links = append(d.Links, network.LinkSpecSpec{
		Name: link, Up: true, MTU: e.MTU, DHCP: e.DHCP, Origin: network.OriginConfig,
	})
	for _, a := range e.Addresses {
		if p, err := netip.ParsePrefix(a); err == nil {
			d.Addresses = append(d.Addresses, network.AddressSpecSpec{Link: link, Address: p.String(), Origin: network.OriginConfig})
		}
	}
	for _, r := range e.Routes {
		dst, err := netip.ParsePrefix(r.Network)
		if err != nil {
			continue
		}
		spec := network.RouteSpecSpec{
			Link: link, Destination: dst.Masked().String(), Metric: cmp.Or(r.Metric, DefaultRouteMetric), Origin: network.OriginConfig,
		}
		if gw, err := netip.ParseAddr(r.Gateway); err == nil {
			spec.Gateway = gw.String()
		}
		d.Routes = append(d.Routes, spec)
	}
}

// addStatic applies ip=<client>:...:<gw>:<mask>::<device> to its device or
// to the first physical link.
func (d *Desired) addStatic(links []network.LinkStatusSpec, ip *cmdline.IPConfig) {
	link := ip.Device
	if link == "" {
		i := slices.IndexFunc(links, func(l network.LinkStatusSpec) bool { return l.Physical })
		if i < 0 {
			return
		}
		link = links[i].Name
	}
	if !slices.ContainsFunc(links, func(l network.LinkStatusSpec) bool { return l.Name == link }) {
		return
	}
	d.ensureLink(link).Origin = network.OriginCmdline
	d.Addresses = append(d.Addresses, network.AddressSpecSpec{Link: link, Address: ip.Address.String(), Origin: network.OriginCmdline})
	if ip.Gateway.IsValid() {
		d.Routes = append(d.Routes, network.RouteSpecSpec{
			Link: link, Destination: "0.0.0.0/0", Gateway: ip.Gateway.String(),
			Metric: DefaultRouteMetric, Origin: network.OriginCmdline,
		})
	}
}

// ensureLink makes sure link is in d.Links, up, and returns its spec.
func (d *Desired) ensureLink(link string) *network.LinkSpecSpec {
	i := slices.IndexFunc(d.Links, func(s network.LinkSpecSpec) bool { return s.Name == link })
	if i < 0 {
		d.Links = append(d.Links, network.LinkSpecSpec{Name: link, Up: true})
		slices.SortFunc(d.Links, func(a, b network.LinkSpecSpec) int { return cmp.Compare(a.Name, b.Name) })
		i = slices.IndexFunc(d.Links, func(s network.LinkSpecSpec) bool { return s.Name == link })
	}
	return &d.Links[i]
}

// setDHCP turns DHCP on for the links that pass match.
func (d *Desired) setDHCP(match func(string) bool, origin string) {
	for i := range d.Links {
		if match(d.Links[i].Name) {
			d.Links[i].DHCP, d.Links[i].Origin = true, origin
		}
	}
}

func physical(links []network.LinkStatusSpec) func(string) bool {
	return func(name string) bool {
		return slices.ContainsFunc(links, func(l network.LinkStatusSpec) bool { return l.Name == name && l.Physical })
	}
}
