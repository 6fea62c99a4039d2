package server_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/sequencer"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	res "github.com/plinth-os/plinth/pkg/machinery/resource"
)

func withRoles(roles string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), constants.RolesMetadataKey, roles)
}

func TestSensitiveResources(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	secret := res.NewTyped("test", secretDef.Type, "s1", thingSpec{Value: "hush"})
	if err := h.state.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	req := &resource.GetRequest{Type: "secrets", Id: "s1"}
	for _, roles := range []string{"os:reader", "os:operator", ""} {
		_, err := h.resource.Get(withRoles(roles), req)
		wantCode(t, err, codes.PermissionDenied, "os:admin")
	}
	for _, c := range []context.Context{ctx, withRoles("os:reader,os:admin")} {
		got, err := h.resource.Get(c, req)
		if err != nil || string(got.GetMessages()[0].GetResource().GetSpec()) != "value: hush\n" {
			t.Fatalf("Get = %v, %v", got, err)
		}
	}
	stream, err := h.resource.List(withRoles("os:reader"), &resource.ListRequest{Type: "secrets"})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.PermissionDenied, "os:admin")
	// The maintenance mark wins over any metadata.
	if !server.IsMaintenance(server.WithMaintenance(ctx)) || server.IsMaintenance(ctx) {
		t.Fatal("maintenance mark")
	}
}

func TestResourceGetListWatch(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for i, lbl := range []string{"a", "b"} {
		r := res.NewTyped("test", publicDef.Type, fmt.Sprintf("t%d", i), thingSpec{Value: lbl})
		r.Metadata().Labels = map[string]string{"group": lbl}
		if err := h.state.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.resource.Get(ctx, &resource.GetRequest{Type: "thing", Id: "t0"})
	if err != nil {
		t.Fatal(err)
	}
	msg := got.GetMessages()[0]
	if msg.GetDefinition().GetType() != publicDef.Type || msg.GetResource().GetMetadata().GetNamespace() != "test" ||
		msg.GetResource().GetMetadata().GetVersion() != 1 {
		t.Fatalf("Get = %v", msg)
	}
	_, err = h.resource.Get(ctx, &resource.GetRequest{Type: "thing"})
	wantCode(t, err, codes.InvalidArgument, "id is empty")
	_, err = h.resource.Get(ctx, &resource.GetRequest{Type: "thing", Id: "zz"})
	wantCode(t, err, codes.NotFound, `"zz"`)
	_, err = h.resource.Get(ctx, &resource.GetRequest{Id: "t0"})
	wantCode(t, err, codes.InvalidArgument, "type is empty")

	stream, err := h.resource.List(ctx, &resource.ListRequest{Type: "things", LabelSelector: "group=b"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := drain(stream.Recv)
	if err != nil || len(list) != 1 || list[0].GetResource().GetMetadata().GetId() != "t1" {
		t.Fatalf("List = %v, %v", list, err)
	}
	stream, _ = h.resource.List(ctx, &resource.ListRequest{Type: "things", LabelSelector: "=x"})
	_, err = drain(stream.Recv)
	wantCode(t, err, codes.InvalidArgument, "label_selector")

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := h.resource.Watch(wctx, &resource.WatchRequest{Type: "thing", Bootstrap: true})
	if err != nil {
		t.Fatal(err)
	}
	var types []resource.EventType
	for len(types) < 3 {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.GetEventType())
	}
	want := []resource.EventType{resource.EventType_CREATED, resource.EventType_CREATED, resource.EventType_BOOTSTRAPPED}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("watch events = %v, want %v", types, want)
	}
	if err := h.state.Destroy(ctx, res.Ref{Namespace: "test", Type: publicDef.Type, ID: "t0"}); err != nil {
		t.Fatal(err)
	}
	ev, err := w.Recv()
	if err != nil || ev.GetEventType() != resource.EventType_DESTROYED || ev.GetResource().GetMetadata().GetId() != "t0" {
		t.Fatalf("watch = %v, %v", ev, err)
	}
}

func TestRequestValidation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.machine.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{})
	wantCode(t, err, codes.InvalidArgument, "data is empty")
	_, err = h.machine.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: []byte("x"), Mode: 42})
	wantCode(t, err, codes.InvalidArgument, "unknown mode")
	_, err = h.machine.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: []byte("x"), TryModeTimeout: durationpb.New(time.Second)})
	wantCode(t, err, codes.InvalidArgument, "only valid with mode TRY")
	_, err = h.machine.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{
		Data: []byte("x"), Mode: machine.ApplyConfigurationRequest_TRY, TryModeTimeout: durationpb.New(-time.Second)})
	wantCode(t, err, codes.InvalidArgument, "positive")
	_, err = h.machine.Reset(ctx, &machine.ResetRequest{SystemPartitionsToWipe: []string{"META"}})
	wantCode(t, err, codes.InvalidArgument, `"META"`)
	_, err = h.machine.ServiceStart(ctx, &machine.ServiceRequest{Id: "ghost"})
	wantCode(t, err, codes.NotFound, `"ghost"`)
	_, err = h.machine.Netstat(ctx, &machine.NetstatRequest{Filter: 9})
	wantCode(t, err, codes.InvalidArgument, "unknown filter")

	for _, p := range []string{"", "var/log", "/var/../etc", "/var//log"} {
		rs, _ := h.machine.Read(ctx, &machine.ReadRequest{Path: p})
		_, err := drain(rs.Recv)
		wantCode(t, err, codes.InvalidArgument, "path")
	}
	ls, _ := h.machine.List(ctx, &machine.ListRequest{Root: "/var", RecursionDepth: -1})
	_, err = drain(ls.Recv)
	wantCode(t, err, codes.InvalidArgument, "recursion_depth")
	ev, _ := h.machine.Events(ctx, &machine.EventsRequest{TailEvents: -5})
	_, err = drain(ev.Recv)
	wantCode(t, err, codes.InvalidArgument, "tail_events")
	lg, _ := h.machine.Logs(ctx, &machine.LogsRequest{Id: "x", Kubernetes: true})
	_, err = drain(lg.Recv)
	wantCode(t, err, codes.InvalidArgument, "[NAMESPACE/]POD/CONTAINER")
}

func TestResetOptionsAndBusy(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	calls := []*machine.ResetRequest{
		{},
		{Mode: machine.ResetRequest_USER_DISKS},
		{SystemPartitionsToWipe: []string{"STATE"}, Reboot: true},
		{SystemPartitionsToWipe: []string{"STATE", "EPHEMERAL"}, Graceful: true},
	}
	want := []server.ResetOptions{{WipeEphemeral: true}, {}, {Reboot: true}, {WipeEphemeral: true, Graceful: true}}
	for _, c := range calls {
		if _, err := h.machine.Reset(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(h.node.resets) != fmt.Sprint(want) {
		t.Fatalf("resets = %v, want %v", h.node.resets, want)
	}
	h.node.busy = fmt.Errorf("start: %w", &sequencer.BusyError{Running: "boot"})
	_, err := h.machine.Reboot(ctx, &machine.RebootRequest{})
	wantCode(t, err, codes.FailedPrecondition, "busy: sequence boot is running")
}

func TestVersionAndHostname(t *testing.T) {
	h := newHarness(t)
	v, err := h.machine.Version(context.Background(), &emptypb.Empty{})
	if err != nil || v.GetMessages()[0].GetPlatform().GetMode() != "container" || v.GetMessages()[0].GetVersion().GetGoVersion() == "" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	hn, err := h.machine.Hostname(context.Background(), &emptypb.Empty{})
	if err != nil || hn.GetMessages()[0].GetHostname() != "node-1" {
		t.Fatalf("Hostname = %v, %v", hn, err)
	}
}

// echoService writes a line, then another when told, until stopped.
type echoService struct{ more chan struct{} }

func (e *echoService) ID() string                      { return "echo" }
func (e *echoService) DependsOn() []string             { return nil }
func (e *echoService) Condition() supervisor.Condition { return nil }
func (e *echoService) Runner() (supervisor.Runner, error) {
	return &supervisor.GoroutineRunner{Func: func(ctx context.Context, log io.Writer) error {
		fmt.Fprintln(log, "first")
		select {
		case <-e.more:
			fmt.Fprintln(log, "second")
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}}, nil
}

func TestServicesAndLogs(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	svc := &echoService{more: make(chan struct{})}
	if err := h.sup.Load(svc); err != nil {
		t.Fatal(err)
	}
	if _, err := h.machine.ServiceStart(ctx, &machine.ServiceRequest{Id: "echo"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.sup.Wait(wctx, "echo"); err != nil {
		t.Fatal(err)
	}
	follow, err := h.machine.Logs(wctx, &machine.LogsRequest{Id: "echo", Follow: true, TailLines: -1})
	if err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	told := false
	for !strings.Contains(seen.String(), "second") {
		d, err := follow.Recv()
		if err != nil {
			t.Fatalf("follow: %v after %q", err, seen.String())
		}
		seen.Write(d.GetBytes())
		if strings.Contains(seen.String(), "first") && !told {
			told = true
			svc.more <- struct{}{} // the runner waits for it after "first"
		}
	}
	list, err := h.machine.ServiceList(ctx, &emptypb.Empty{})
	if err != nil || list.GetMessages()[0].GetServices()[0].GetState() != "Running" {
		t.Fatalf("ServiceList = %v, %v", list, err)
	}
	if _, err := h.machine.ServiceStop(ctx, &machine.ServiceRequest{Id: "echo"}); err != nil {
		t.Fatal(err)
	}
	tail, _ := h.machine.Logs(ctx, &machine.LogsRequest{Id: "echo", TailLines: 1})
	got, err := drain(tail.Recv)
	if err != nil || len(got) != 1 || string(got[0].GetBytes()) != "second\n" {
		t.Fatalf("tail 1 = %v, %v", got, err)
	}
}
