package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	resruntime "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func init() {
	registerCommand(newUpgradeCmd)
	registerCommand(newRollbackCmd)
}

// upgradeFlags are the flags of `plinthctl upgrade`.
type upgradeFlags struct {
	powerWaitFlags
	// Image is the boot bundle: a local path (streamed) or an http(s) URL
	// (downloaded by the node).
	Image string
	// Stage writes the new slot without rebooting.
	Stage bool
	// Force skips the etcd quorum check.
	Force bool
	// HealthTimeout bounds the new version's health gate.
	HealthTimeout time.Duration
}

func newUpgradeCmd(g *globalFlags) *cobra.Command {
	f := &upgradeFlags{}
	cmd := &cobra.Command{
		Use:   "upgrade --image PATH|URL [--stage] [--force]",
		Short: "Upgrade the nodes' operating system from a boot bundle",
		Long: `Write a boot bundle (_out/boot-bundle.tar of make image: kernel, initramfs
and a checksum manifest) to the inactive boot slot of every node of -n and
reboot each into it once. The new version becomes the default only when the node comes up healthy on it (apid running and,
when the node was Ready, its kubelet's Node Ready) within --health-timeout;
otherwise the node reboots into the previous version by itself and records
why (plinthctl get bootstatus). A node running from memory is installed to
machine.install.disk from the bundle instead.

A local PATH is streamed through the API; a URL is downloaded by the node.
--stage arms the new slot for the next reboot without rebooting. Upgrading a
control plane whose reboot would cost etcd its quorum is refused unless
--force. With --wait (the default for one node; give it for a rolling
upgrade of several) the nodes go one at a time: each must be back and past
its health gate before the next one goes down, and a failure stops the
roll.`,
		Example: `  plinthctl upgrade -n 10.5.0.2 --image _out/boot-bundle.tar
  plinthctl upgrade -n 10.5.0.2 --image http://10.5.0.1:8080/boot-bundle.tar --stage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&f.Image, "image", "", "boot bundle: a path (streamed to the node) or an http(s) URL (fetched by the node)")
	cmd.Flags().BoolVar(&f.Stage, "stage", false, "write the new version and boot it at the next reboot, without rebooting now")
	cmd.Flags().BoolVar(&f.Force, "force", false, "upgrade a control plane even when etcd would lose quorum")
	cmd.Flags().DurationVar(&f.HealthTimeout, "health-timeout", 5*time.Minute, "how long the new version has to become healthy")
	return cmd
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

func (f *upgradeFlags) run(cmd *cobra.Command, g *globalFlags) error {
	if f.Image == "" {
		return errors.New("upgrade: --image is required: a boot bundle path (make image writes _out/boot-bundle.tar) or URL")
	}
	if f.HealthTimeout <= 0 {
		return fmt.Errorf("upgrade: --health-timeout %s: expected a positive duration", f.HealthTimeout)
	}
	want := ""
	if !isURL(f.Image) {
		man, err := readBundleManifest(f.Image)
		if err != nil {
			return err
		}
		want = man.Version
		fmt.Fprintf(cmd.OutOrStdout(), "bundle %s: version %s, kernel %s\n", f.Image, man.Version, man.KernelRelease)
	}
	header := &machine.UpgradeHeader{Stage: f.Stage, Force: f.Force, HealthTimeout: durationpb.New(f.HealthTimeout)}
	if isURL(f.Image) {
		header.ImageUrl = f.Image
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	if f.Stage || !f.enabled(cmd, nc) {
		return requestPower(cmd, nc, powerGoal{verb: "upgrade"}, f.action(cmd, nc, header))
	}
	// Rolling: one node at a time, each back and past its health gate
	// before the next one goes down (a cluster never loses two nodes to
	// an upgrade at once; a failed gate stops the roll).
	goal := powerGoal{verb: "upgrade", back: true, stages: []resruntime.Stage{resruntime.StageRunning, resruntime.StageMaintenance}}
	for _, node := range nc.targets() {
		one := &nodeConn{c: nc.c}
		if node != "" {
			one.nodes = []string{node}
		}
		if err := waitPower(cmd, one, &f.powerWaitFlags, goal, f.action(cmd, one, header)); err != nil {
			return err
		}
		if err := waitGate(cmd, one, f.Timeout, want); err != nil {
			return err
		}
	}
	return nil
}

// action sends the upgrade to every node of nc, one after the other, and
// prints what each wrote.
func (f *upgradeFlags) action(cmd *cobra.Command, nc *nodeConn, header *machine.UpgradeHeader) powerAction {
	return func(_ context.Context, _ *client.Client) ([]*common.Metadata, error) {
		var mds []*common.Metadata
		for _, node := range nc.targets() {
			res, err := f.send(cmd, nc, node, header)
			if err != nil {
				mds = append(mds, &common.Metadata{Node: node, Error: err.Error()})
				continue
			}
			md := res.GetMetadata()
			if md == nil {
				md = &common.Metadata{Node: node}
			}
			what := "rebooting into it"
			if !res.GetRebooting() {
				what = "staged for the next reboot"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s → %s written to slot %s, %s\n", nc.nameOf(node), res.GetFromVersion(), res.GetVersion(), res.GetSlot(), what)
			mds = append(mds, md)
		}
		return mds, nil
	}
}

// readBundleManifest reads the manifest of a local bundle, so a wrong
// file is refused before anything is sent.
func readBundleManifest(path string) (bundle.Manifest, error) {
	file, err := os.Open(path)
	if err != nil {
		return bundle.Manifest{}, fmt.Errorf("upgrade: %w", err)
	}
	defer file.Close() //nolint:errcheck // read-only
	man, err := bundle.ReadManifest(file)
	if err != nil {
		return bundle.Manifest{}, fmt.Errorf("upgrade: %s is not a boot bundle: %w", path, err)
	}
	return man, nil
}

// send runs the Upgrade call of one node: the header, then the bundle.
func (f *upgradeFlags) send(cmd *cobra.Command, nc *nodeConn, node string, header *machine.UpgradeHeader) (*machine.Upgrade, error) {
	stream, err := nc.c.Machine.Upgrade(nc.one(cmd.Context(), node))
	if err != nil {
		return nil, apiError{err}
	}
	send := func(m *machine.UpgradeRequest) error {
		if err := stream.Send(m); err != nil {
			if _, rerr := stream.CloseAndRecv(); rerr != nil {
				return apiError{rerr}
			}
			return apiError{err}
		}
		return nil
	}
	if err := send(&machine.UpgradeRequest{Request: &machine.UpgradeRequest_Header{Header: header}}); err != nil {
		return nil, err
	}
	if header.GetImageUrl() == "" {
		file, err := os.Open(f.Image)
		if err != nil {
			return nil, err
		}
		defer file.Close() //nolint:errcheck // read-only
		if err := sendChunks(file, func(chunk *common.Data) error {
			return send(&machine.UpgradeRequest{Request: &machine.UpgradeRequest_Chunk{Chunk: chunk}})
		}); err != nil {
			return nil, err
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, apiError{err}
	}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return nil, errors.New(msg)
		}
		return item, nil
	}
	return nil, errors.New("the node answered nothing")
}

// waitGate follows each node's BootStatus until its health gate decided,
// and prints the result.
func waitGate(cmd *cobra.Command, nc *nodeConn, timeout time.Duration, want string) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, node := range nc.targets() {
		spec, err := pollBootStatus(ctx, nc, node, func(s resruntime.BootStatusSpec) bool { return s.TrialSlot == "" })
		if err != nil {
			fails.failed(nc.nameOf(node), fmt.Errorf("waiting for the health gate: %w", err))
			continue
		}
		last := spec.LastUpgrade
		switch {
		case last == nil:
			fmt.Fprintf(cmd.OutOrStdout(), "%s: installed, slot %s\n", nc.nameOf(node), spec.BootedSlot)
		case last.Result == "committed" && (want == "" || last.ToVersion == want):
			fmt.Fprintf(cmd.OutOrStdout(), "%s: upgrade committed: %s on slot %s passed its health gate\n", nc.nameOf(node), last.ToVersion, last.Slot)
		default:
			fails.failed(nc.nameOf(node), fmt.Errorf("upgrade %s: back on %s (slot %s): %s", last.Result, last.ToVersion, last.Slot, last.Reason))
		}
	}
	return fails.err()
}

// pollBootStatus reads a node's BootStatus every second until done says
// so or ctx ends.
func pollBootStatus(ctx context.Context, nc *nodeConn, node string, done func(resruntime.BootStatusSpec) bool) (resruntime.BootStatusSpec, error) {
	var lastErr error
	for {
		spec, err := bootStatus(ctx, nc, node)
		if err == nil && done(spec) {
			return spec, nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			return spec, lastErr
		case <-time.After(time.Second):
		}
	}
}

// bootStatus reads one node's BootStatus.
func bootStatus(ctx context.Context, nc *nodeConn, node string) (resruntime.BootStatusSpec, error) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := nc.c.Resources.Get(nc.one(actx, node), &resourceapi.GetRequest{
		Namespace: resruntime.NamespaceName, Type: resruntime.BootStatusType, Id: resruntime.BootStatusID,
	})
	if err != nil {
		return resruntime.BootStatusSpec{}, apiError{err}
	}
	var spec resruntime.BootStatusSpec
	msgs := resp.GetMessages()
	if len(msgs) == 0 {
		return spec, errors.New("no boot status")
	}
	if e := msgs[0].GetMetadata().GetError(); e != "" {
		return spec, errors.New(e)
	}
	return spec, decodeSpec(msgs[0].GetResource().GetSpec(), &spec)
}

// decodeSpec decodes a resource spec (YAML of the spec's JSON form) into
// a Go spec type with JSON tags.
func decodeSpec(data []byte, spec any) error {
	var tree any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return err
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, spec)
}
