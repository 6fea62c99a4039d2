package machined_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/maintenance"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func wantCode(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("error = %v, want %s mentioning %q", err, code, contains)
	}
}

// TestEndToEnd boots a node without config, applies a control-plane config
// over the maintenance TLS API, then drives the node over its Unix socket.
func TestEndToEnd(t *testing.T) {
	n := startNode(t, true)
	info := n.waitMaintenance(t)
	if !strings.Contains(n.console.String(), "certificate fingerprint SHA256 "+info.fingerprint) {
		t.Fatalf("console = %q", n.console.String())
	}
	ctx := context.Background()
	mconn := dialMaintenance(t, info)
	mm, mr := machine.NewMachineServiceClient(mconn), resource.NewResourceServiceClient(mconn)

	v, err := mm.Version(ctx, &emptypb.Empty{})
	if err != nil || !v.GetMessages()[0].GetMaintenance() {
		t.Fatalf("maintenance Version = %v, %v", v, err)
	}
	_, err = mm.ServiceList(ctx, &emptypb.Empty{})
	wantCode(t, err, codes.PermissionDenied, maintenance.DeniedMessage)
	// Metadata claiming admin must not unlock secrets without a client certificate.
	admin := metadata.AppendToOutgoingContext(ctx, constants.RolesMetadataKey, "os:admin")
	_, err = mr.Get(admin, &resource.GetRequest{Type: "mc", Id: resconfig.ActiveID})
	wantCode(t, err, codes.PermissionDenied, "os:admin")
	got, err := mr.Get(ctx, &resource.GetRequest{Type: "machinestatus", Id: rtres.MachineStatusID})
	if err != nil || !strings.Contains(string(got.GetMessages()[0].GetResource().GetSpec()), "stage: maintenance") {
		t.Fatalf("MachineStatus in maintenance = %v, %v", got, err)
	}

	_, err = mm.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: []byte("machine:\n  type: nope\n")})
	wantCode(t, err, codes.InvalidArgument, "invalid config")
	if _, err := os.Stat(filepath.Join(n.root, constants.StateDir, constants.ConfigFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an invalid config reached STATE: %v", err)
	}
	cfg := generated(t, v1alpha1.TypeControlPlane)
	res, err := mm.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: cfg})
	if err != nil || !strings.Contains(res.GetMessages()[0].GetModeDetails(), "maintenance") {
		t.Fatalf("ApplyConfiguration = %v, %v", res, err)
	}

	conn := dialSocket(t, n.root)
	mc, rc := machine.NewMachineServiceClient(conn), resource.NewResourceServiceClient(conn)
	eventually(t, "node running", func() error { return stageIs(rc, rtres.StageRunning) })

	v, err = mc.Version(ctx, &emptypb.Empty{})
	if err != nil || v.GetMessages()[0].GetMaintenance() || v.GetMessages()[0].GetPlatform().GetMode() != "container" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	checkServices(t, mc)
	eventually(t, "node ready", func() error {
		got, err := rc.Get(ctx, &resource.GetRequest{Type: "machinestatus", Id: rtres.MachineStatusID})
		if err != nil {
			return err
		}
		if spec := string(got.GetMessages()[0].GetResource().GetSpec()); !strings.Contains(spec, "ready: true") {
			return fmt.Errorf("status %q", spec)
		}
		return nil
	})
	checkResources(t, rc, ctx)
	checkLogs(t, mc)
	checkEvents(t, mc)

	conf, err := mc.GetConfiguration(ctx, &emptypb.Empty{})
	if err != nil || string(conf.GetMessages()[0].GetData()) != string(cfg) {
		t.Fatalf("GetConfiguration = %v", err)
	}
	if _, err = mc.Bootstrap(ctx, &machine.BootstrapRequest{}); err != nil {
		t.Fatalf("Bootstrap = %v", err)
	}
	_, err = mc.Bootstrap(ctx, &machine.BootstrapRequest{})
	wantCode(t, err, codes.FailedPrecondition, "etcd is already bootstrapped on this node")
}

func stageIs(rc resource.ResourceServiceClient, stage rtres.Stage) error {
	got, err := rc.Get(context.Background(), &resource.GetRequest{Type: "machinestatus", Id: rtres.MachineStatusID})
	if err != nil {
		return err
	}
	spec := string(got.GetMessages()[0].GetResource().GetSpec())
	if !strings.Contains(spec, "stage: "+string(stage)) {
		return fmt.Errorf("status is %q", spec)
	}
	return nil
}

func checkServices(t *testing.T, mc machine.MachineServiceClient) {
	t.Helper()
	eventually(t, "apid running", func() error {
		list, err := mc.ServiceList(context.Background(), &emptypb.Empty{})
		if err != nil {
			return err
		}
		var states []string
		for _, s := range list.GetMessages()[0].GetServices() {
			if s.GetState() == "Skipped" {
				continue // Kubernetes programs are not in the test root
			}
			states = append(states, s.GetId()+"="+s.GetState())
		}
		// A control plane runs apid and trustd.
		if strings.Join(states, ",") == "apid=Running,trustd=Running" {
			return nil
		}
		return fmt.Errorf("services: %v", states)
	})
	_, err := mc.ServiceRestart(context.Background(), &machine.ServiceRequest{Id: "nope"})
	wantCode(t, err, codes.NotFound, `"nope"`)
	_, err = mc.ServiceStop(context.Background(), &machine.ServiceRequest{})
	wantCode(t, err, codes.InvalidArgument, "id is empty")
}

func checkResources(t *testing.T, rc resource.ResourceServiceClient, ctx context.Context) {
	t.Helper()
	eventually(t, "MachineType", func() error {
		got, err := rc.Get(ctx, &resource.GetRequest{Type: "machinetype", Id: resconfig.MachineTypeID})
		if err != nil {
			return err
		}
		if spec := string(got.GetMessages()[0].GetResource().GetSpec()); spec != "type: controlplane\n" {
			return fmt.Errorf("spec %q", spec)
		}
		return nil
	})
	reader := metadata.AppendToOutgoingContext(ctx, constants.RolesMetadataKey, "os:reader")
	_, err := rc.Get(reader, &resource.GetRequest{Type: "machineconfig", Id: resconfig.ActiveID})
	wantCode(t, err, codes.PermissionDenied, "os:admin")
	if _, err := rc.Get(ctx, &resource.GetRequest{Type: "machineconfig", Id: resconfig.ActiveID}); err != nil {
		t.Fatalf("local caller refused the MachineConfig: %v", err)
	}
	_, err = rc.Get(ctx, &resource.GetRequest{Type: "nosuchthing", Id: "x"})
	wantCode(t, err, codes.NotFound, "unknown resource type")
	stream, err := rc.List(ctx, &resource.ListRequest{Type: "rd"})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count < 4 {
		t.Fatalf("listed %d definitions", count)
	}
}

func checkLogs(t *testing.T, mc machine.MachineServiceClient) {
	t.Helper()
	eventually(t, "apid log", func() error {
		stream, err := mc.Logs(context.Background(), &machine.LogsRequest{Id: "apid", TailLines: -1})
		if err != nil {
			return err
		}
		var out []byte
		for {
			d, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			out = append(out, d.GetBytes()...)
		}
		if len(out) == 0 {
			return errors.New("empty log")
		}
		return nil
	})
}

func checkEvents(t *testing.T, mc machine.MachineServiceClient) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := mc.Events(ctx, &machine.EventsRequest{TailEvents: -1})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("events ended before the boot's end: %v", err)
		}
		if s := ev.GetSequence(); s != nil && s.GetSequence() == "boot" && s.GetAction() == machine.SequenceEvent_STOP {
			if s.GetError() != "" {
				t.Fatalf("boot failed: %s", s.GetError())
			}
			return
		}
	}
}
