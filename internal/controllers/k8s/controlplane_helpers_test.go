package k8s

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// cpBundle is one secrets bundle shared by the tests of this package:
// generating CAs is the slow part.
var cpBundle = sync.OnceValues(func() (*secrets.Bundle, error) {
	return secrets.NewBundle()
})

// cpConfig returns a generated machine config of the given type for the
// endpoint https://10.5.0.100:6443; each call returns a fresh document.
func cpConfig(t *testing.T, machineType string) *v1alpha1.MachineConfig {
	t.Helper()

	b, err := cpBundle()
	if err != nil {
		t.Fatal(err)
	}

	in := generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.100:6443", Secrets: b}

	m, err := in.MachineConfig(machineType)
	if err != nil {
		t.Fatal(err)
	}

	return m
}

// cpSetNetwork writes the Hostname and NodeAddresses inputs, as the network
// controllers would.
func cpSetNetwork(t *testing.T, st runtime.State, hostname string, addrs ...string) {
	t.Helper()

	ctx := context.Background()

	err := runtime.ModifyTyped(ctx, st, resnet.NewHostname(), func(h *resnet.Hostname) error {
		*h.TypedSpec() = resnet.HostnameSpec{Hostname: hostname, FQDN: hostname}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = runtime.ModifyTyped(ctx, st, resnet.NewNodeAddresses(), func(a *resnet.NodeAddresses) error {
		a.TypedSpec().Addresses = slices.Clone(addrs)

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cpReadFile returns a file under root, nil when it does not exist.
func cpReadFile(t *testing.T, root, path string) []byte {
	t.Helper()

	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	return b
}

// cpPerm returns the permissions of a file under root.
func cpPerm(t *testing.T, root, path string) os.FileMode {
	t.Helper()

	fi, err := os.Stat(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}

	return fi.Mode().Perm()
}

// cpFixedNow is the clock of the golden tests.
var cpFixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
