package k8s

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// Node paths of containerd.
const (
	ContainerdBinary     = "/usr/bin/containerd"
	ContainerdConfigPath = "/etc/containerd/config.toml"
	ContainerdSocket     = "/run/containerd/containerd.sock"
	ContainerdRoot       = "/var/lib/containerd"
	ContainerdState      = "/run/containerd"
	// ContainerdCertsDir holds one <registry>/hosts.toml per mirrored registry.
	ContainerdCertsDir = "/etc/containerd/certs.d"
	// RuncBinary is the OCI runtime the runc shim runs.
	RuncBinary = "/usr/bin/runc"
	// CNIBinDir and CNIConfDir are where CRI finds the CNI plugins and the
	// network configuration.
	CNIBinDir  = "/opt/cni/bin"
	CNIConfDir = "/etc/cni/net.d"
	// SandboxImage is the pause image every pod starts with; the node
	// image ships it (see PreloadedImagesDir).
	SandboxImage = "registry.k8s.io/pause:3.10"
	// ContainerdNamespace is the containerd namespace of CRI.
	ContainerdNamespace = "k8s.io"
)

// servicePath is the PATH of the node's services: every program the node
// runs is in /usr/bin (/sbin and /bin link to it).
const servicePath = "PATH=/usr/bin:/usr/sbin"

// containerdSettings decide containerd's configuration.
type containerdSettings struct {
	// restrictOOMScoreAdj keeps CRI from lowering a container's OOM score
	// below containerd's own (container mode: the node may not lower it).
	restrictOOMScoreAdj bool
}

// renderContainerdConfig returns config.toml (version 4, CRI with runc).
func renderContainerdConfig(s containerdSettings) []byte {
	var b strings.Builder
	b.WriteString(`# Written by Plinth (machined). Changes are overwritten.
version = 4
root = ` + tomlString(ContainerdRoot) + `
state = ` + tomlString(ContainerdState) + `

[plugins."io.containerd.server.v1.grpc"]
  address = ` + tomlString(ContainerdSocket) + `

[plugins."io.containerd.cri.v1.images"]
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ` + tomlString(SandboxImage) + `
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ` + tomlString(ContainerdCertsDir) + `

[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = ` + fmt.Sprint(s.restrictOOMScoreAdj) + `
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = ` + tomlString(RuncBinary) + `
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [` + tomlString(CNIBinDir) + `]
    conf_dir = ` + tomlString(CNIConfDir) + `
`)
	return []byte(b.String())
}

// registryHostsFiles returns one hosts.toml per mirrored registry, keyed
// by its node path under ContainerdCertsDir ("*" is containerd's
// _default). A registry name that is not a plain host[:port] is an error.
func registryHostsFiles(r *v1alpha1.Registries) (map[string][]byte, error) {
	out := map[string][]byte{}
	if r == nil {
		return out, nil
	}
	names := make([]string, 0, len(r.Mirrors))
	for name := range r.Mirrors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dir := name
		switch {
		case name == "*":
			dir = "_default"
		case name == "" || strings.ContainsAny(name, "/\\ \t\n") || name == "." || name == ".." || name == "_default":
			return nil, fmt.Errorf("machine.registries.mirrors: %q is not a registry host", name)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# Written by Plinth from machine.registries.mirrors[%s].\n", tomlString(name))
		if server := upstream(name); server != "" {
			fmt.Fprintf(&b, "server = %s\n", tomlString(server))
		}
		for _, ep := range r.Mirrors[name].Endpoints {
			if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
				return nil, fmt.Errorf("machine.registries.mirrors[%s]: endpoint %q is not an http(s) URL", name, ep)
			}
			fmt.Fprintf(&b, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n", tomlString(strings.TrimSuffix(ep, "/")))
		}
		out[path.Join(ContainerdCertsDir, dir, "hosts.toml")] = []byte(b.String())
	}
	return out, nil
}

// upstream is the registry's own server, tried after its mirrors.
func upstream(name string) string {
	switch name {
	case "*":
		return ""
	case "docker.io":
		return "https://registry-1.docker.io"
	}
	return "https://" + name
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
