package docker

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func TestContainerSpecBodies(t *testing.T) {
	req := request(t)
	for name, priv := range map[string]Privileges{
		"privileged":   {Privileged: true},
		"capabilities": {CapDrop: []string{"CAP_SYS_RESOURCE"}},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := json.MarshalIndent(containerSpec(req, req.Nodes[1], priv, true), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "container-"+name+".json", append(body, '\n'))
		})
	}
	body, err := json.MarshalIndent(networkSpec(req), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	body = []byte(strings.ReplaceAll(string(body), req.StateDir, "$STATE"))
	golden(t, "network.json", append(body, '\n'))
}

func TestContainerSpecWithoutKmsg(t *testing.T) {
	req := request(t)
	spec := containerSpec(req, req.Nodes[0], Privileges{}, false)
	if len(spec.HostConfig.Devices) != 0 {
		t.Errorf("devices without /dev/kmsg on the host: %+v", spec.HostConfig.Devices)
	}
}

func TestMissingCaps(t *testing.T) {
	if got := missingCaps(fullCaps&^(1<<24), 40); !slices.Equal(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Errorf("missingCaps = %q", got)
	}
	// Capabilities the kernel does not have are not missing.
	if got := missingCaps(1<<38-1, 37); len(got) != 0 {
		t.Errorf("missingCaps on a 37-capability kernel = %q", got)
	}
	bnd, err := parseCapBnd("Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n")
	if err != nil || bnd != 0x1fffeffffff {
		t.Errorf("parseCapBnd = %x, %v", bnd, err)
	}
	if _, err := parseCapBnd("Name:\tx\n"); err == nil {
		t.Error("parseCapBnd without CapBnd succeeded")
	}
}

func TestPrivilegesDecision(t *testing.T) {
	t.Run("privileged works", func(t *testing.T) {
		p, f, _ := newTest(t)
		f.start = nil
		priv, err := p.privileges(context.Background(), "plinth/node:test")
		if err != nil || !priv.Privileged {
			t.Fatalf("privileges = %+v, %v", priv, err)
		}
		if got := f.objects(); len(got) != 0 {
			t.Errorf("probe containers left: %q", got)
		}
	})
	t.Run("capabilities, cached", func(t *testing.T) {
		p, f, _ := newTest(t)
		priv, err := p.privileges(context.Background(), "plinth/node:test")
		if err != nil || priv.Privileged || !slices.Equal(priv.CapDrop, []string{"CAP_SYS_RESOURCE"}) {
			t.Fatalf("privileges = %+v, %v", priv, err)
		}
		if !strings.Contains(priv.Reason, "unable to apply caps: operation not permitted): the host's capability bounding set lacks CAP_SYS_RESOURCE") {
			t.Errorf("reason %q", priv.Reason)
		}
		probes := len(f.recorded())
		again, err := p.privileges(context.Background(), "plinth/node:test")
		if err != nil || !slices.Equal(again.CapDrop, priv.CapDrop) {
			t.Fatalf("cached privileges = %+v, %v", again, err)
		}
		if n := len(f.recorded()); n != probes {
			t.Errorf("the cached decision ran %d more calls", n-probes)
		}
	})
	t.Run("names Docker does not know leave the drop list", func(t *testing.T) {
		p, f, _ := newTest(t)
		p.hostCaps = func() (uint64, int, error) { return fullCaps &^ (1 << 24) &^ (1 << 39), 40, nil }
		prev := f.start
		f.start = func(c *fakeContainer) error {
			if slices.Contains(c.spec.HostConfig.CapDrop, "CAP_BPF") {
				return &engine.Error{Status: http.StatusBadRequest, Message: `invalid CapDrop: unknown capability: "CAP_BPF"`}
			}
			return prev(c)
		}
		priv, err := p.privileges(context.Background(), "plinth/node:test")
		if err != nil || !slices.Equal(priv.CapDrop, []string{"CAP_SYS_RESOURCE"}) {
			t.Fatalf("privileges = %+v, %v", priv, err)
		}
	})
	t.Run("nothing works", func(t *testing.T) {
		p, f, _ := newTest(t)
		f.start = func(*fakeContainer) error { return errors.New("exec format error") }
		if _, err := p.privileges(context.Background(), "plinth/node:test"); err == nil || !strings.Contains(err.Error(), "cannot get the privileges") {
			t.Errorf("privileges = %v", err)
		}
		if got := f.objects(); len(got) != 0 {
			t.Errorf("probe containers left: %q", got)
		}
	})
}
