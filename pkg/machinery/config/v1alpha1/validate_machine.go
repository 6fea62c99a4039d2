package v1alpha1

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

// Machine types.
const (
	TypeControlPlane = "controlplane"
	TypeWorker       = "worker"
)

// DocumentKind implements config.Document.
func (m *MachineConfig) DocumentKind() string { return KindMachineConfig }

// DocumentName implements config.Document: MachineConfig is a singleton.
func (m *MachineConfig) DocumentName() string { return "" }

// IsControlPlane reports whether the machine is a control plane.
func (m *MachineConfig) IsControlPlane() bool {
	return m.Machine != nil && m.Machine.Type == TypeControlPlane
}

// Validate checks the whole MachineConfig for the given mode and records
// every problem in c.
func (m *MachineConfig) Validate(mode validation.Mode, c *validation.Collector) {
	if m.Machine == nil {
		c.Errorf("machine", "missing: expected the machine section (at least machine.type)")
	} else {
		m.Machine.validate(mode, c)
	}
	if m.Cluster == nil {
		c.Errorf("cluster", "missing: expected the cluster section (at least cluster.controlPlane.endpoint)")
	} else {
		m.Cluster.validate(m.IsControlPlane(), c)
	}
}

func (m *Machine) validate(mode validation.Mode, c *validation.Collector) {
	cp := m.Type == TypeControlPlane
	switch m.Type {
	case "":
		c.Errorf("machine.type", "missing: expected controlplane or worker")
	case TypeControlPlane, TypeWorker:
	default:
		c.Errorf("machine.type", "%q is not a machine type: expected controlplane or worker", m.Type)
	}
	checkToken(c, "machine.token", m.Token, true)
	if m.Type != "" {
		want := -1
		if cp {
			want = 1
		}
		checkCA(c, "machine.ca", m.CA, want, m.Type)
	}
	checkSANs(c, "machine.certSANs", m.CertSANs)
	m.validateInstall(mode, c)
	if m.Network != nil {
		m.Network.validate(mode, c)
	}
	if m.Time != nil {
		m.Time.validate(mode, c)
	}
	validateSysctls(mode, m.Sysctls, c)
	if m.Kernel != nil {
		m.Kernel.validate(mode, c)
	}
	validateFiles(m.Files, c)
	for k := range m.Env {
		if !envKeyRE.MatchString(k) {
			c.Errorf(validation.Key("machine.env", k), "%q is not an environment variable name: expected letters, digits and '_', not starting with a digit", k)
		}
	}
	if m.Kubelet != nil {
		m.Kubelet.validate(c)
	}
	validateLabels(c, "machine.nodeLabels", m.NodeLabels)
	validateTaints(c, "machine.nodeTaints", m.NodeTaints)
	if m.Registries != nil {
		for host, mirror := range m.Registries.Mirrors {
			p := validation.Key("machine.registries.mirrors", host)
			if host != "*" && !isDNSName(strings.Split(host, ":")[0]) {
				c.Errorf(p, "%q is not a registry host: expected a host name, host:port or *", host)
			}
			if len(mirror.Endpoints) == 0 {
				c.Errorf(validation.Join(p, "endpoints"), "missing: expected at least one http(s) URL")
			}
			for i, e := range mirror.Endpoints {
				checkURL(c, validation.Index(validation.Join(p, "endpoints"), i), e, "http", "https")
			}
		}
	}
}

func (m *Machine) validateInstall(mode validation.Mode, c *validation.Collector) {
	if m.Install == nil || m.Install.Disk == "" {
		return // the node runs from memory: fine for maintenance and ephemeral nodes
	}
	if mode == validation.ModeContainer {
		c.Errorf("machine.install.disk", "a container-mode node cannot be installed to a disk: remove machine.install")
		return
	}
	if !strings.HasPrefix(m.Install.Disk, "/dev/") {
		c.Errorf("machine.install.disk", "%q is not a block device: expected a path under /dev, like /dev/vda", m.Install.Disk)
	}
	if img := m.Install.Image; img != "" && !strings.HasPrefix(img, "/") {
		checkURL(c, "machine.install.image", img, "http", "https")
	}
}

func (n *Network) validate(mode validation.Mode, c *validation.Collector) {
	if n.Hostname != "" && !isDNSName(n.Hostname) {
		c.Errorf("machine.network.hostname", "%q is not a valid hostname: expected DNS labels of a-z, 0-9 and '-', each at most 63 characters", n.Hostname)
	}
	if mode == validation.ModeContainer && len(n.Interfaces) > 0 {
		c.Warnf("machine.network.interfaces", "ignored in container mode: the container runtime configures the network")
	}
	seen := map[string]int{}
	for i, iface := range n.Interfaces {
		p := validation.Index("machine.network.interfaces", i)
		key := iface.Interface
		switch {
		case iface.Interface != "" && iface.DeviceSelector != nil:
			c.Errorf(p, "sets both interface and deviceSelector: expected exactly one")
		case iface.Interface == "" && iface.DeviceSelector == nil:
			c.Errorf(p, "sets neither interface nor deviceSelector: expected exactly one")
		case iface.DeviceSelector != nil:
			key = "mac " + strings.ToLower(iface.DeviceSelector.HardwareAddr)
			if iface.DeviceSelector.HardwareAddr == "" {
				c.Errorf(validation.Join(p, "deviceSelector.hardwareAddr"), "missing: expected a MAC address like 52:54:00:12:34:56 (\"*\" wildcards allowed)")
			}
		}
		if key != "" {
			if j, dup := seen[key]; dup {
				c.Errorf(p, "configures %s again: already configured by machine.network.interfaces[%d]", key, j)
			} else {
				seen[key] = i
			}
		}
		iface.validate(p, c)
	}
	for i, ns := range n.Nameservers {
		checkIP(c, validation.Index("machine.network.nameservers", i), ns)
	}
	for i, e := range n.ExtraHostEntries {
		p := validation.Index("machine.network.extraHostEntries", i)
		checkIP(c, validation.Join(p, "ip"), e.IP)
		if len(e.Aliases) == 0 {
			c.Errorf(validation.Join(p, "aliases"), "missing: expected at least one name")
		}
		for j, a := range e.Aliases {
			if !isDNSName(a) {
				c.Errorf(validation.Index(validation.Join(p, "aliases"), j), "%q is not a valid host name", a)
			}
		}
	}
}

func (iface *Interface) validate(p string, c *validation.Collector) {
	if iface.MTU != 0 && (iface.MTU < 68 || iface.MTU > 65535) {
		c.Errorf(validation.Join(p, "mtu"), "%d is out of range: expected 68 to 65535 (or 0 for the kernel's default)", iface.MTU)
	}
	if iface.Ignore && (iface.DHCP || len(iface.Addresses) > 0 || len(iface.Routes) > 0) {
		c.Warnf(validation.Join(p, "ignore"), "the interface is ignored, so its dhcp, addresses and routes have no effect")
	}
	for j, a := range iface.Addresses {
		checkCIDR(c, validation.Index(validation.Join(p, "addresses"), j), a)
	}
	for j, r := range iface.Routes {
		rp := validation.Index(validation.Join(p, "routes"), j)
		dst, okDst := checkCIDR(c, validation.Join(rp, "network"), r.Network)
		if r.Gateway == "" {
			continue
		}
		gw, okGw := checkIP(c, validation.Join(rp, "gateway"), r.Gateway)
		if okDst && okGw && dst.Addr().Is4() != gw.Is4() {
			c.Errorf(validation.Join(rp, "gateway"), "%s is %s but the network %s is %s: expected the same IP family", gw, family(gw), dst, family(dst.Addr()))
		}
	}
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func (t *Time) validate(mode validation.Mode, c *validation.Collector) {
	if t.Disabled && len(t.Servers) > 0 {
		c.Warnf("machine.time.servers", "time sync is disabled, so the servers are not used")
	}
	if mode == validation.ModeContainer && !t.Disabled && len(t.Servers) > 0 {
		c.Warnf("machine.time.servers", "a container-mode node shares its host's clock and does not sync time")
	}
	for i, s := range t.Servers {
		if _, err := netip.ParseAddr(s); err != nil && !isDNSName(s) {
			c.Errorf(validation.Index("machine.time.servers", i), "%q is not a host name or IP address", s)
		}
	}
}

func validateSysctls(mode validation.Mode, sysctls map[string]string, c *validation.Collector) {
	for k, v := range sysctls {
		p := validation.Key("machine.sysctls", k)
		if !sysctlKeyRE.MatchString(k) {
			c.Errorf(p, "%q is not a sysctl name: expected dotted names like net.ipv4.ip_forward", k)
			continue
		}
		if v == "" {
			c.Errorf(p, "missing value")
		}
		if mode == validation.ModeContainer && !strings.HasPrefix(k, "net.") {
			c.Errorf(p, "a container-mode node may set only per-network-namespace sysctls (net.*): %q would change the host's kernel", k)
		}
	}
}

func (k *Kernel) validate(mode validation.Mode, c *validation.Collector) {
	if mode == validation.ModeContainer && len(k.Modules) > 0 {
		c.Errorf("machine.kernel.modules", "a container-mode node cannot load kernel modules (it shares its host's kernel): load them on the host")
	}
	for i, mod := range k.Modules {
		p := validation.Index("machine.kernel.modules", i)
		if !moduleRE.MatchString(mod.Name) {
			c.Errorf(validation.Join(p, "name"), "%q is not a module name: expected letters, digits, '_' and '-'", mod.Name)
		}
		for j, param := range mod.Parameters {
			if k, _, ok := strings.Cut(param, "="); !ok || k == "" {
				c.Errorf(validation.Index(validation.Join(p, "parameters"), j), "%q is not a parameter: expected key=value", param)
			}
		}
	}
}

// writablePrefixes are where machine.files may write.
var writablePrefixes = []string{"/var/", "/etc/cri/conf.d/"}

func validateFiles(files []File, c *validation.Collector) {
	for i, f := range files {
		p := validation.Index("machine.files", i)
		switch {
		case f.Path == "":
			c.Errorf(validation.Join(p, "path"), "missing: expected an absolute path under /var or /etc/cri/conf.d")
		case !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path:
			c.Errorf(validation.Join(p, "path"), "%q is not a clean absolute path", f.Path)
		case !hasAnyPrefix(f.Path, writablePrefixes):
			c.Errorf(validation.Join(p, "path"), "%q is read-only: expected a path under /var or /etc/cri/conf.d (the root file system is immutable)", f.Path)
		}
		if f.Op != "" {
			oneOf(c, validation.Join(p, "op"), f.Op, "create", "append")
		}
		if f.Permissions > 0o7777 {
			c.Errorf(validation.Join(p, "permissions"), "%#o is not a file mode: expected at most 0o7777 (write it in octal, like 0o644)", f.Permissions)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (k *Kubelet) validate(c *validation.Collector) {
	checkExtraArgs(c, "machine.kubelet.extraArgs", k.ExtraArgs, "config", "kubeconfig", "bootstrap-kubeconfig", "container-runtime-endpoint")
	if k.NodeIP != nil {
		for i, s := range k.NodeIP.ValidSubnets {
			checkCIDR(c, validation.Index("machine.kubelet.nodeIP.validSubnets", i), strings.TrimPrefix(s, "!"))
		}
	}
}

func validateLabels(c *validation.Collector, p string, labels map[string]string) {
	for k, v := range labels {
		if err := checkLabelKey(k); err != nil {
			c.Errorf(validation.Key(p, k), "%v", err)
		}
		if len(v) > 63 || (v != "" && !labelValueRE.MatchString(v)) {
			c.Errorf(validation.Key(p, k), "value %q is not a label value: expected at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric", v)
		}
	}
}

func validateTaints(c *validation.Collector, p string, taints map[string]string) {
	for k, v := range taints {
		if err := checkLabelKey(k); err != nil {
			c.Errorf(validation.Key(p, k), "%v", err)
		}
		_, effect, ok := strings.Cut(v, ":")
		if !ok {
			effect = v
		}
		switch effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			c.Errorf(validation.Key(p, k), "%q has no valid effect: expected \"value:Effect\" or \":Effect\" with Effect NoSchedule, PreferNoSchedule or NoExecute", v)
		}
	}
}

func checkLabelKey(k string) error {
	prefix, name, ok := strings.Cut(k, "/")
	if !ok {
		name, prefix = prefix, ""
	}
	if prefix != "" && !isDNSName(prefix) {
		return fmt.Errorf("%q has an invalid prefix: expected a DNS name before '/'", k)
	}
	if name == "" || len(name) > 63 || !labelValueRE.MatchString(name) {
		return fmt.Errorf("%q is not a label key: expected [prefix/]name, the name at most 63 characters of [A-Za-z0-9_.-]", k)
	}
	return nil
}
