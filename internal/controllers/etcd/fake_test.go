package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testBundle = sync.OnceValues(func() (*secrets.Bundle, error) { return secrets.NewBundle() })

// testConfig is a generated config for the endpoint https://10.5.0.1:6443.
func testConfig(t *testing.T, machineType string) *v1alpha1.MachineConfig {
	t.Helper()

	b, err := testBundle()
	if err != nil {
		t.Fatal(err)
	}

	in := generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.1:6443", Secrets: b}

	m, err := in.MachineConfig(machineType)
	if err != nil {
		t.Fatal(err)
	}

	return m
}

func setNetwork(t *testing.T, st runtime.State, hostname string, addrs ...string) {
	t.Helper()

	ctx := context.Background()

	if err := runtime.ModifyTyped(ctx, st, resnet.NewHostname(), func(h *resnet.Hostname) error {
		*h.TypedSpec() = resnet.HostnameSpec{Hostname: hostname, FQDN: hostname}

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := runtime.ModifyTyped(ctx, st, resnet.NewNodeAddresses(), func(a *resnet.NodeAddresses) error {
		a.TypedSpec().Addresses = slices.Clone(addrs)

		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// fakeCluster is an etcd cluster seen through Client: one set of members,
// the local member's view of itself, and call records.
type fakeCluster struct {
	mu sync.Mutex
	// down: every call fails as if nothing listened.
	down bool
	// localUp: the local member answers Status.
	localUp bool
	members []member
	nextID  uint64
	// local is the local member's id (0: not a member yet).
	local uint64
	// promoteFailures is how many promotions fail before one succeeds.
	promoteFailures int
	dials           [][]string
	adds, promotes  int
}

var errDown = errors.New("connection refused")

func (f *fakeCluster) dial(endpoints []string, _ *tls.Config) (Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.dials = append(f.dials, slices.Clone(endpoints))

	return fakeClient{f}, nil
}

type fakeClient struct{ f *fakeCluster }

func (c fakeClient) MemberList(context.Context) ([]member, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()

	if c.f.down {
		return nil, errDown
	}

	return slices.Clone(c.f.members), nil
}

func (c fakeClient) MemberAddAsLearner(_ context.Context, peerURLs []string) (uint64, []member, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()

	if c.f.down {
		return 0, nil, errDown
	}

	c.f.nextID++
	c.f.adds++
	c.f.local = c.f.nextID
	c.f.members = append(c.f.members, member{ID: c.f.nextID, PeerURLs: peerURLs, Learner: true})

	return c.f.nextID, slices.Clone(c.f.members), nil
}

func (c fakeClient) MemberPromote(_ context.Context, id uint64) error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()

	c.f.promotes++
	if c.f.promoteFailures > 0 {
		c.f.promoteFailures--

		return errors.New("etcdserver: can only promote a learner member which is in sync with leader")
	}

	for i := range c.f.members {
		if c.f.members[i].ID == id {
			c.f.members[i].Learner = false
		}
	}

	return nil
}

func (c fakeClient) Status(context.Context, string) (status, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()

	if !c.f.localUp || c.f.local == 0 {
		return status{}, errDown
	}

	learner := false

	for i, m := range c.f.members {
		if m.ID == c.f.local {
			learner = m.Learner
			c.f.members[i].Name = "self" // started members have a name
		}
	}

	return status{MemberID: c.f.local, Leader: c.f.members[0].ID, Version: "3.7.3", Learner: learner}, nil
}

func (fakeClient) Close() error { return nil }

func (f *fakeCluster) set(fn func(f *fakeCluster)) {
	f.mu.Lock()
	defer f.mu.Unlock()

	fn(f)
}

func (f *fakeCluster) get(fn func(f *fakeCluster) bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()

	return fn(f)
}
