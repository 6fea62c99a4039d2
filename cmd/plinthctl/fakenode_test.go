package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/client/clienttest"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// fakeBase is the time the fake node's canned data is dated from; the
// CLI's clock is pinned an hour later.
var fakeBase = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

var (
	fakePKIOnce sync.Once
	fakePKI     *clienttest.PKI
	fakePKIErr  error
)

// sharedFakePKI is one throwaway OS CA for every fake node of the tests.
func sharedFakePKI(t *testing.T) *clienttest.PKI {
	t.Helper()
	fakePKIOnce.Do(func() { fakePKI, fakePKIErr = clienttest.NewPKI() })
	if fakePKIErr != nil {
		t.Fatal(fakePKIErr)
	}
	return fakePKI
}

// fakeNode plays apid and the nodes behind it: real TLS on loopback, a
// MachineService and a ResourceService answering with canned data for
// every node named in the call's metadata. Nodes in failing answer with
// an error item. It records every request.
type fakeNode struct {
	*clienttest.Node
	dir    string // temporary directory, $TMP in golden files
	home   string // the package directory, when a test left it
	config string // plinthconfig: contexts "test" (nodes 10.5.0.2) and "direct" (no nodes)

	mu            sync.Mutex
	calls         []string
	failing       map[string]string
	machineConfig []byte
	maintenance   bool
	stage         string
	ready         bool
	followEvents  bool // Events streams stay open for new events
	stuck         bool // power actions never happen
	events        []*machine.Event
	subs          map[chan *machine.Event]struct{}
	subAdded      chan struct{} // closed and replaced on each subscription
	afterPower    *tls.Config   // TLS after a power cycle (nil: unchanged)
	kube          *fakeKube     // etcd, containerd, Kubernetes (useKube)
	// services replaces the canned services of a node, when set.
	services func(node string) []*machine.ServiceInfo
	bg       sync.WaitGroup
}

// newFakeNode starts a fake node and writes a plinthconfig for it. At the
// end of the test it stops, and no goroutine may be left behind.
func newFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	return startFakeNode(t, nil)
}

// newMaintenanceFake starts a fake node in maintenance mode: self-signed
// certificate, no client certificates. It returns the certificate's
// fingerprint.
func newMaintenanceFake(t *testing.T) (*fakeNode, string) {
	t.Helper()
	cfg, fp, err := clienttest.MaintenanceTLS()
	if err != nil {
		t.Fatal(err)
	}
	f := startFakeNode(t, cfg)
	f.maintenance, f.stage, f.ready = true, "maintenance", false
	return f, fp
}

// startFakeNode starts a fake node with TLS configuration cfg, or with a
// certificate of the shared test OS CA when nil.
func startFakeNode(t *testing.T, cfg *tls.Config) *fakeNode {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	oldNow, oldPoll := nowFunc, powerPollInterval
	nowFunc = func() time.Time { return fakeBase.Add(time.Hour) }
	powerPollInterval = 20 * time.Millisecond
	t.Cleanup(func() { nowFunc, powerPollInterval = oldNow, oldPoll })

	p := sharedFakePKI(t)
	if cfg == nil {
		var err error
		if cfg, err = p.ServerTLS(); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeNode{
		dir:      t.TempDir(),
		failing:  map[string]string{"10.5.0.9": "dial 10.5.0.9:50000: connect: connection refused"},
		stage:    "running",
		ready:    true,
		subs:     map[chan *machine.Event]struct{}{},
		subAdded: make(chan struct{}),
	}
	f.machineConfig = []byte("version: v1alpha1\n")
	f.Node = clienttest.Start(t, cfg, func(s *grpc.Server) {
		machine.RegisterMachineServiceServer(s, &fakeMachine{f: f})
		resourceapi.RegisterResourceServiceServer(s, &fakeResources{f: f})
	})
	t.Cleanup(f.bg.Wait) // runs before the node stops
	f.config = filepath.Join(f.dir, "plinthconfig")
	test := p.Context(nil, f.Addr)
	test.Nodes = []string{"10.5.0.2"}
	pc := &clientconfig.Config{Context: "test", Contexts: map[string]*clientconfig.Context{
		"test": test, "direct": p.Context(nil, f.Addr),
	}}
	if err := pc.Save(f.config); err != nil {
		t.Fatal(err)
	}
	return f
}

// record notes a call and its request.
func (f *fakeNode) record(ctx context.Context, method string, req proto.Message) {
	line := method
	if nodes := incomingTargets(ctx); !slices.Equal(nodes, []string{""}) {
		line += " nodes=" + strings.Join(nodes, ",")
	}
	if req != nil {
		raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(req)
		var compact bytes.Buffer
		if err == nil && json.Compact(&compact, raw) == nil && compact.String() != "{}" {
			line += " " + compact.String()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, line)
}

// recorded returns the calls so far and forgets them.
func (f *fakeNode) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// incomingTargets are the nodes a call names, or "" for the endpoint.
func incomingTargets(ctx context.Context) []string {
	md, _ := metadata.FromIncomingContext(ctx)
	var out []string
	for _, v := range md.Get(constants.NodesMetadataKey) {
		out = append(out, strings.Split(v, ",")...)
	}
	if len(out) == 0 {
		out = md.Get(constants.NodeMetadataKey)
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// eachTarget calls ok for every good target and returns the metadata of
// every target, with the error of the failing ones.
func (f *fakeNode) eachTarget(ctx context.Context, ok func(node string, md *common.Metadata)) {
	for _, node := range incomingTargets(ctx) {
		md := &common.Metadata{Node: node}
		f.mu.Lock()
		msg := f.failing[node]
		f.mu.Unlock()
		if msg != "" {
			md.Error = msg
		}
		ok(node, md)
	}
}

// publish stamps events with an id and time and sends them to the
// subscribers.
func (f *fakeNode) publish(evs ...*machine.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range evs {
		n := len(f.events) + 1
		ev.Id = fmt.Sprint(n)
		ev.Time = timestamppb.New(fakeBase.Add(time.Duration(n) * time.Second))
		f.events = append(f.events, ev)
		for ch := range f.subs {
			select {
			case ch <- ev:
			default: // a slow test reader loses events; tests read fast
			}
		}
	}
}

// subscribe returns the last tail events (all when negative) and a channel
// of the new ones.
func (f *fakeNode) subscribe(tail int) ([]*machine.Event, chan *machine.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	replay := f.events
	if tail >= 0 && len(replay) > tail {
		replay = replay[len(replay)-tail:]
	}
	ch := make(chan *machine.Event, 64)
	f.subs[ch] = struct{}{}
	close(f.subAdded)
	f.subAdded = make(chan struct{})
	return slices.Clone(replay), ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
	}
}

// waitSubscriber waits until some event stream is open, at most d.
func (f *fakeNode) waitSubscriber(d time.Duration) {
	deadline := time.After(d)
	for {
		f.mu.Lock()
		n, added := len(f.subs), f.subAdded
		f.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-added:
		case <-deadline:
			return
		}
	}
}

// powerCycle plays a node going down and booting again: it stops serving,
// forgets its events, comes back (with afterPower's TLS, if set), publishes
// its boot events and, once someone follows them, reaches running.
func (f *fakeNode) powerCycle(back bool) {
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		time.Sleep(100 * time.Millisecond) // let the events reach the client
		f.Stop()
		f.mu.Lock()
		f.events, f.subs, f.stage, f.ready = nil, map[chan *machine.Event]struct{}{}, "booting", false
		cfg := f.afterPower
		f.maintenance = cfg != nil
		f.mu.Unlock()
		if !back {
			return
		}
		time.Sleep(150 * time.Millisecond)
		if err := f.RestartWith(cfg); err != nil {
			panic(err)
		}
		if cfg != nil { // reset into maintenance mode: nothing else happens
			f.mu.Lock()
			f.stage = "maintenance"
			f.mu.Unlock()
			return
		}
		f.publish(seqEvent("boot", true), phaseEvent("boot", "mountState", true), phaseEvent("boot", "mountState", false),
			phaseEvent("boot", "startServices", true), phaseEvent("boot", "startServices", false), seqEvent("boot", false))
		f.waitSubscriber(5 * time.Second)
		f.mu.Lock()
		f.stage, f.ready = "running", true
		f.mu.Unlock()
		f.publish(statusEvent("running", true))
	}()
}

func seqEvent(seq string, start bool) *machine.Event {
	action := machine.SequenceEvent_STOP
	if start {
		action = machine.SequenceEvent_START
	}
	return &machine.Event{Payload: &machine.Event_Sequence{Sequence: &machine.SequenceEvent{Sequence: seq, Action: action}}}
}

func phaseEvent(seq, phase string, start bool) *machine.Event {
	action := machine.PhaseEvent_STOP
	if start {
		action = machine.PhaseEvent_START
	}
	return &machine.Event{Payload: &machine.Event_Phase{Phase: &machine.PhaseEvent{Sequence: seq, Phase: phase, Action: action}}}
}

func statusEvent(stage string, ready bool) *machine.Event {
	return &machine.Event{Payload: &machine.Event_Status{Status: &machine.MachineStatusEvent{Stage: stage, Ready: ready}}}
}

// run runs plinthctl against the fake and returns a transcript for golden
// files: the command line, stdout, stderr and the error.
func (f *fakeNode) run(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := runCLI(t, append([]string{"--plinthconfig", f.config}, args...)...)
	var b strings.Builder
	fmt.Fprintf(&b, "$ plinthctl %s\n", strings.Join(args, " "))
	b.WriteString(stdout)
	if stdout != "" && !strings.HasSuffix(stdout, "\n") {
		b.WriteString("\n(no newline at end of output)\n")
	}
	if stderr != "" {
		b.WriteString("--- stderr\n" + stderr)
	}
	if err != nil {
		b.WriteString("--- error\n" + err.Error() + "\n")
	}
	return f.scrub(b.String())
}

// editTempRE matches the random part of edit's temporary file names.
var editTempRE = regexp.MustCompile(`plinth-machineconfig-\d+\.yaml`)

// scrub replaces what changes from run to run.
func (f *fakeNode) scrub(s string) string {
	s = strings.ReplaceAll(s, f.dir, "$TMP")
	s = strings.ReplaceAll(s, f.Addr, "$ENDPOINT")
	if f.kube != nil {
		s = strings.ReplaceAll(s, f.kube.api.URL, "$K8S")
	}
	s = strings.ReplaceAll(s, runtime.Version(), "$GOVERSION")
	s = strings.ReplaceAll(s, runtime.GOOS+"/"+runtime.GOARCH, "$OS/$ARCH")
	return editTempRE.ReplaceAllString(s, "plinth-machineconfig-N.yaml")
}
