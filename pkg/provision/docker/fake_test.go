package docker

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// fakeEngine is an in-memory Docker daemon: it keeps containers, volumes
// and networks with their labels, records every call, and fails the calls
// its hooks say.
type fakeEngine struct {
	mu         sync.Mutex
	calls      []string
	containers map[string]*fakeContainer // by id
	volumes    map[string]engine.VolumeSpec
	networks   map[string]engine.NetworkSpec // by id
	images     map[string]bool
	nextID     int
	nextPort   int

	// start decides whether a container starts (nil: it does).
	start func(c *fakeContainer) error
	// logs is what a started node container prints (default: a
	// maintenance banner with a fingerprint derived from its name).
	logs func(c *fakeContainer) string
	// down is the error of Ping (nil: the daemon answers).
	down error
}

type fakeContainer struct {
	id, name string
	spec     engine.ContainerSpec
	running  bool
	exitCode int
	port     string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		containers: map[string]*fakeContainer{}, volumes: map[string]engine.VolumeSpec{},
		networks: map[string]engine.NetworkSpec{}, images: map[string]bool{"plinth/node:test": true},
		nextPort: 32768,
	}
}

// fingerprintOf is the fake maintenance fingerprint of a container.
func fingerprintOf(name string) string {
	var b strings.Builder
	for i := range 32 {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", (len(name)*7+i)%256)
	}
	return b.String()
}

func (f *fakeEngine) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// recorded returns the calls so far.
func (f *fakeEngine) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// objects lists what exists, sorted: "container NAME", "volume NAME", "network NAME".
func (f *fakeEngine) objects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.containers {
		out = append(out, "container "+c.name)
	}
	for n := range f.volumes {
		out = append(out, "volume "+n)
	}
	for _, n := range f.networks {
		out = append(out, "network "+n.Name)
	}
	sort.Strings(out)
	return out
}

func notFound(what string) error {
	return &engine.Error{Status: http.StatusNotFound, Message: "No such " + what}
}

// hasLabels reports whether labels carry every filter ("k=v" or "k").
func hasLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, withValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

func (f *fakeEngine) Ping(context.Context) error { return f.down }

func (f *fakeEngine) Info(context.Context) (*engine.Info, error) {
	return &engine.Info{ID: "FAKE", ServerVersion: "20.10.24", KernelVersion: "6.1.0"}, nil
}

func (f *fakeEngine) ImageInspect(_ context.Context, ref string) (*engine.ImageInspect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.images[ref] {
		return nil, notFound("image: " + ref)
	}
	return &engine.ImageInspect{ID: "sha256:fake", RepoTags: []string{ref}}, nil
}

func (f *fakeEngine) NetworkCreate(_ context.Context, spec engine.NetworkSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("network create %s", spec.Name)
	for _, n := range f.networks {
		if n.Name == spec.Name {
			return "", &engine.Error{Status: http.StatusConflict, Message: "network with name " + spec.Name + " already exists"}
		}
	}
	f.nextID++
	id := fmt.Sprintf("net%d", f.nextID)
	f.networks[id] = spec
	return id, nil
}

func (f *fakeEngine) NetworkRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("network remove %s", f.networks[id].Name)
	delete(f.networks, id)
	return nil
}

func (f *fakeEngine) NetworkList(_ context.Context, labels ...string) ([]engine.NetworkSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.NetworkSummary
	for id, n := range f.networks {
		if hasLabels(n.Labels, labels) {
			out = append(out, engine.NetworkSummary{ID: id, Name: n.Name, Labels: n.Labels})
		}
	}
	return out, nil
}

func (f *fakeEngine) VolumeCreate(_ context.Context, spec engine.VolumeSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("volume create %s", spec.Name)
	f.volumes[spec.Name] = spec
	return nil
}

func (f *fakeEngine) VolumeRemove(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("volume remove %s", name)
	delete(f.volumes, name)
	return nil
}

func (f *fakeEngine) VolumeList(_ context.Context, labels ...string) ([]engine.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Volume
	for _, v := range f.volumes {
		if hasLabels(v.Labels, labels) {
			out = append(out, engine.Volume{Name: v.Name, Labels: v.Labels})
		}
	}
	return out, nil
}

func (f *fakeEngine) ContainerCreate(_ context.Context, name string, spec engine.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("c%d", f.nextID)
	if name == "" {
		name = "probe-" + id
	}
	f.record("container create %s", name)
	f.containers[id] = &fakeContainer{id: id, name: name, spec: spec}
	return id, nil
}

func (f *fakeEngine) ContainerStart(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return notFound("container: " + id)
	}
	f.record("container start %s", c.name)
	if f.start != nil {
		if err := f.start(c); err != nil {
			return err
		}
	}
	c.running = !strings.HasPrefix(c.name, "probe-")
	if len(c.spec.HostConfig.PortBindings) > 0 {
		f.nextPort++
		c.port = fmt.Sprint(f.nextPort)
	}
	return nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, id string) (*engine.ContainerJSON, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		for _, x := range f.containers {
			if x.name == id {
				c, ok = x, true
			}
		}
	}
	if !ok {
		return nil, notFound("container: " + id)
	}
	out := &engine.ContainerJSON{ID: c.id, Name: "/" + c.name}
	out.State.Running = c.running
	out.State.Status, out.State.ExitCode = "exited", c.exitCode
	if c.running {
		out.State.Status = "running"
	}
	if c.port != "" {
		out.NetworkSettings.Ports = map[string][]engine.PortBinding{apiPort: {{HostIP: "127.0.0.1", HostPort: c.port}}}
		if _, ok := c.spec.HostConfig.PortBindings[kubernetesPort]; ok {
			out.NetworkSettings.Ports[kubernetesPort] = []engine.PortBinding{{HostIP: "127.0.0.1", HostPort: "6" + c.port}}
		}
	}
	return out, nil
}

func (f *fakeEngine) ContainerWait(_ context.Context, id string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return 0, notFound("container: " + id)
	}
	return c.exitCode, nil
}

func (f *fakeEngine) ContainerRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok {
		f.record("container remove %s", c.name)
	}
	delete(f.containers, id)
	return nil
}

func (f *fakeEngine) ContainerList(_ context.Context, labels ...string) ([]engine.ContainerSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.ContainerSummary
	for _, c := range f.containers {
		if hasLabels(c.spec.Labels, labels) {
			out = append(out, engine.ContainerSummary{ID: c.id, Names: []string{"/" + c.name}, Labels: c.spec.Labels})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Names[0] < out[j].Names[0] })
	return out, nil
}

func (f *fakeEngine) ContainerLogs(_ context.Context, id string, _ int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return nil, notFound("container: " + id)
	}
	if f.logs != nil {
		return []byte(f.logs(c)), nil
	}
	if !c.running && c.port == "" {
		return nil, nil
	}
	return []byte("INFO booting\nmaintenance mode: waiting for a machine config on :50000; certificate fingerprint SHA256 " +
		fingerprintOf(c.name) + "\n"), nil
}

// spec returns the spec the container named name was created with.
func (f *fakeEngine) spec(name string) engine.ContainerSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.name == name {
			return c.spec
		}
	}
	return engine.ContainerSpec{}
}
