package apply

import (
	"bytes"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// rebootField is a part of the MachineConfig that a running node cannot
// take without a reboot; see the table in the package comment.
type rebootField struct {
	path string
	get  func(m *v1alpha1.Machine, c *v1alpha1.Cluster) any
}

// rebootFields lists the fields whose change needs a reboot, in the order
// they are reported.
var rebootFields = []rebootField{
	{"machine.type", func(m *v1alpha1.Machine, _ *v1alpha1.Cluster) any {
		return ptr(m, func(m *v1alpha1.Machine) any { return m.Type })
	}},
	{"machine.install", func(m *v1alpha1.Machine, _ *v1alpha1.Cluster) any {
		return ptr(m, func(m *v1alpha1.Machine) any { return m.Install })
	}},
	{"machine.kernel", func(m *v1alpha1.Machine, _ *v1alpha1.Cluster) any {
		return ptr(m, func(m *v1alpha1.Machine) any { return m.Kernel })
	}},
	{"machine.ca", func(m *v1alpha1.Machine, _ *v1alpha1.Cluster) any {
		return ptr(m, func(m *v1alpha1.Machine) any { return m.CA })
	}},
	{"cluster.id", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any { return c.ID })
	}},
	{"cluster.secret", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any { return c.Secret })
	}},
	{"cluster.ca", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any { return c.CA })
	}},
	{"cluster.aggregatorCA", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any { return c.AggregatorCA })
	}},
	{"cluster.serviceAccount", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any { return c.ServiceAccount })
	}},
	{"cluster.etcd.ca", func(_ *v1alpha1.Machine, c *v1alpha1.Cluster) any {
		return ptr(c, func(c *v1alpha1.Cluster) any {
			if c.Etcd == nil {
				return nil
			}
			return c.Etcd.CA
		})
	}},
}

// ptr applies get to p unless p is nil.
func ptr[T any](p *T, get func(*T) any) any {
	if p == nil {
		return nil
	}
	return get(p)
}

// RebootFields returns the paths of the fields that differ between old and
// new and need a reboot to take effect; none when old is nil (a node
// without config takes anything).
func RebootFields(old, new *config.Config) []string {
	if old == nil {
		return nil
	}
	om, nm := parts(old), parts(new)
	var out []string
	for _, f := range rebootFields {
		if !sameYAML(f.get(om.Machine, om.Cluster), f.get(nm.Machine, nm.Cluster)) {
			out = append(out, f.path)
		}
	}
	return out
}

func parts(c *config.Config) *v1alpha1.MachineConfig {
	if m := c.Machine(); m != nil {
		return m
	}
	return &v1alpha1.MachineConfig{}
}

// sameYAML compares two values by their YAML encoding, so that a nil
// pointer and an empty string or struct both read as "not set".
func sameYAML(a, b any) bool {
	return bytes.Equal(encodeValue(a), encodeValue(b))
}

func encodeValue(v any) []byte {
	out, err := yaml.Marshal(v)
	if err != nil {
		return []byte("error: " + err.Error())
	}
	switch s := string(bytes.TrimSpace(out)); s {
	case "null", `""`, "{}":
		return nil
	}
	return out
}

// machineType returns the config's machine type ("" when unset).
func machineType(c *config.Config) string {
	if c == nil {
		return ""
	}
	if m := parts(c).Machine; m != nil {
		return m.Type
	}
	return ""
}
