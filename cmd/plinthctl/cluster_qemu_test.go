package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/qemu"
)

func TestQemuDisks(t *testing.T) {
	subnet := netip.MustParsePrefix("10.5.0.0/24")
	image := t.TempDir()
	user, err := patch.LoadBytes("user", []byte(`{"machine": {"install": {"disk": "/dev/vdb"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	base := clusterPatches{common: []patch.Patch{user}}
	f := &clusterCreateFlags{DiskMiB: qemu.DefaultDiskMiB, Install: true}

	// No bundle in the image: not installed, with a note.
	var note bytes.Buffer
	got, err := f.qemuDisks(qemu.New(qemu.Options{}), subnet, image, base, &note)
	if err != nil || len(got.common) != 1 || !strings.Contains(note.String(), "no boot-bundle.tar in "+image) {
		t.Fatalf("without a bundle: %d patches, %v, note %q", len(got.common), err, note.String())
	}

	// With a bundle: the install patch comes first, so the user's win.
	if err := os.WriteFile(filepath.Join(image, qemu.BundleFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	note.Reset()
	got, err = f.qemuDisks(qemu.New(qemu.Options{}), subnet, image, base, &note)
	if err != nil || len(got.common) != 2 || note.Len() != 0 {
		t.Fatalf("with a bundle: %d patches, %v, note %q", len(got.common), err, note.String())
	}
	data, err := patch.Apply([]byte("apiVersion: v1alpha1\nkind: MachineConfig\nmachine:\n  type: worker\n"), nil, got.common...)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(data); !strings.Contains(s, "disk: /dev/vdb") || !strings.Contains(s, "image: http://10.5.0.1:50080/boot-bundle.tar") {
		t.Errorf("patched config:\n%s", s)
	}

	// --install=false: no patch.
	off := &clusterCreateFlags{DiskMiB: 4096}
	if got, err = off.qemuDisks(qemu.New(qemu.Options{}), subnet, image, base, &note); err != nil || len(got.common) != 1 {
		t.Errorf("--install=false: %d patches, %v", len(got.common), err)
	}
	small := &clusterCreateFlags{DiskMiB: 100, Install: true}
	if _, err = small.qemuDisks(qemu.New(qemu.Options{}), subnet, image, base, &note); err == nil || !strings.Contains(err.Error(), "--disk-size 100") {
		t.Errorf("a small disk: %v", err)
	}
	// Other provisioners ignore the flags.
	if got, err = small.qemuDisks(&fakeProvisioner{}, subnet, image, base, &note); err != nil || len(got.common) != 1 {
		t.Errorf("docker-like provisioner: %d patches, %v", len(got.common), err)
	}
}

func TestPrintQemuDetails(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "demo-worker-1.disk")
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 2048<<20); err != nil {
		t.Fatal(err)
	}
	spec := &qemu.Spec{Cluster: "demo", StateDir: dir, Accel: qemu.AccelTCG, Gateway: netip.MustParseAddr("10.5.0.1"),
		Bundle: "/o/boot-bundle.tar", OVMFCode: qemu.OVMFCode, ServerPort: qemu.ServerPort,
		Nodes: []qemu.NodeSpec{{Name: "demo-worker-1", MAC: "52:54:00:00:00:02", Tap: "tap2", Disk: disk, DiskMiB: 2048}}}
	if err := spec.Save(); err != nil {
		t.Fatal(err)
	}
	st := qemu.Status{PID: 1, ConfigServer: "10.5.0.1:50080", Nodes: map[string]*qemu.NodeStatus{"demo-worker-1": {
		PID: 2, Started: time.Now(), Exited: time.Now(), BootMode: qemu.BootDisk, Boots: 3, Restarts: 2, ConfigFetches: 1,
		LastExitReason: "the guest powered off",
	}}}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, qemu.StatusFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printQemuDetails(&out, &provision.Cluster{Name: "demo", Provisioner: qemu.Name, StateDir: dir}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"install: from http://10.5.0.1:50080/boot-bundle.tar (/o/boot-bundle.tar); disk boots through " + qemu.OVMFCode,
		"NODE            QEMU-PID   STATE    BOOT   BOOTS   RESTARTS   CONFIGS-SERVED",
		"demo-worker-1   2          exited   disk   3       2          1",
		"disk " + disk + " (2048 MiB, 0 MiB used)",
		"last QEMU exit: the guest powered off",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("show lacks %q:\n%s", want, s)
		}
	}
}
