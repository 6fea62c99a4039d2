package machined_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// configured starts a node without services and applies a control-plane
// config in maintenance mode; it returns the Unix-socket clients.
func configured(t testing.TB, n *node) (machine.MachineServiceClient, resource.ResourceServiceClient, []byte) {
	t.Helper()
	cfg := generated(t, v1alpha1.TypeControlPlane)
	mm := machine.NewMachineServiceClient(dialMaintenance(t, n.waitMaintenance(t)))
	if _, err := mm.ApplyConfiguration(context.Background(), &machine.ApplyConfigurationRequest{Data: cfg}); err != nil {
		t.Fatal(err)
	}
	conn := dialSocket(t, n.root)
	rc := resource.NewResourceServiceClient(conn)
	eventually(t, "node running", func() error { return stageIs(rc, rtres.StageRunning) })
	return machine.NewMachineServiceClient(conn), rc, cfg
}

func stored(t testing.TB, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, constants.StateDir, name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

func TestApplyOverSocket(t *testing.T) {
	n := startNode(t, false)
	mc, _, cfg := configured(t, n)
	ctx := context.Background()
	worker := generated(t, v1alpha1.TypeWorker)

	dry, err := mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: worker, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	msg := dry.GetMessages()[0]
	if !strings.Contains(msg.GetModeDetails(), "dry run") || !strings.Contains(msg.GetDiff(), "-  type: controlplane") {
		t.Fatalf("dry run = %+v", msg)
	}
	if strings.Contains(msg.GetDiff(), bundle.Machine.TrustdToken) {
		t.Fatal("the diff leaks the machine token")
	}
	_, err = mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: worker, Mode: machine.ApplyConfigurationRequest_NO_REBOOT})
	wantCode(t, err, codes.FailedPrecondition, "machine.type")
	_, err = mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: []byte("kind: Nope\n")})
	wantCode(t, err, codes.InvalidArgument, "unknown kind")
	if stored(t, n.root, constants.ConfigFile) != string(cfg) {
		t.Fatal("a refused apply changed STATE")
	}

	if _, err := mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: worker, Mode: machine.ApplyConfigurationRequest_STAGED}); err != nil {
		t.Fatal(err)
	}
	if stored(t, n.root, constants.StagedConfigFile) != string(worker) || stored(t, n.root, constants.ConfigFile) != string(cfg) {
		t.Fatal("staged apply: wrong files")
	}
	res, err := mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: worker})
	if err != nil || !strings.Contains(res.GetMessages()[0].GetModeDetails(), "reboot") {
		t.Fatalf("auto apply = %v, %v", res, err)
	}
	if got := n.power.waitAction(t); got != "reboot" {
		t.Fatalf("power action = %s, want reboot", got)
	}
	if stored(t, n.root, constants.ConfigFile) != string(worker) {
		t.Fatal("the config was not stored before the reboot")
	}
}

func TestBusyAndReset(t *testing.T) {
	n := startNode(t, false)
	mc, rc, _ := configured(t, n)
	ctx := context.Background()
	varFile := filepath.Join(n.root, "var", "data", "x")
	if err := os.MkdirAll(filepath.Dir(varFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(varFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	n.power.mu.Lock()
	n.power.hold = make(chan struct{})
	n.power.mu.Unlock()
	if _, err := mc.Reboot(ctx, &machine.RebootRequest{}); err != nil {
		t.Fatal(err)
	}
	n.power.waitAction(t) // the reboot sequence is now in its power phase
	_, err := mc.Reset(ctx, &machine.ResetRequest{})
	wantCode(t, err, codes.FailedPrecondition, "busy: sequence reboot is running")
	_, err = mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: generated(t, v1alpha1.TypeControlPlane)})
	wantCode(t, err, codes.FailedPrecondition, "busy: sequence reboot is running")
	n.power.mu.Lock()
	close(n.power.hold)
	n.power.hold = nil
	n.power.mu.Unlock()

	_, err = mc.Reset(ctx, &machine.ResetRequest{SystemPartitionsToWipe: []string{"BOOT"}})
	wantCode(t, err, codes.InvalidArgument, `"BOOT"`)
	eventually(t, "reset accepted", func() error {
		_, err := mc.Reset(ctx, &machine.ResetRequest{SystemPartitionsToWipe: []string{"STATE", "EPHEMERAL"}})
		return err
	})
	if got := n.power.waitAction(t); got != "reboot" {
		t.Fatalf("reset power action = %s, want reboot", got)
	}
	if stored(t, n.root, constants.ConfigFile) != "" {
		t.Fatal("reset left the config")
	}
	if _, err := os.Stat(varFile); !os.IsNotExist(err) {
		t.Fatalf("reset left /var contents: %v", err)
	}
	_, err = rc.Get(ctx, &resource.GetRequest{Type: "mc", Id: resconfig.ActiveID})
	wantCode(t, err, codes.NotFound, "not found")
	_, err = mc.GetConfiguration(ctx, &emptypb.Empty{})
	wantCode(t, err, codes.FailedPrecondition, "no machine config")
}

func TestStagedConfigPromotedAtBoot(t *testing.T) {
	root, err := os.MkdirTemp("", "pn-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	cfg := generated(t, v1alpha1.TypeWorker)
	state := filepath.Join(root, constants.StateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, constants.StagedConfigFile), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	// A stale socket from a previous run must not stop machined.
	sock := filepath.Join(root, constants.MachinedSocket)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	lis.(*net.UnixListener).SetUnlinkOnClose(false)
	lis.Close()

	n := startNodeAt(t, root, false)
	conn := dialSocket(t, n.root)
	rc := resource.NewResourceServiceClient(conn)
	eventually(t, "node running", func() error { return stageIs(rc, rtres.StageRunning) })
	if stored(t, root, constants.ConfigFile) != string(cfg) || stored(t, root, constants.StagedConfigFile) != "" {
		t.Fatal("the staged config was not promoted")
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v, %v", st, err)
	}
	ev, err := machine.NewMachineServiceClient(conn).Events(context.Background(), &machine.EventsRequest{TailEvents: -2})
	if err == nil {
		_, err = ev.Recv()
	}
	wantCode(t, err, codes.InvalidArgument, "tail_events")
}
