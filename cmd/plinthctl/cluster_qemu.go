package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/qemu"
)

// qemuDefaultImage is the image directory of `make image`, relative to the
// working directory.
const qemuDefaultImage = "_out"

// init registers the QEMU provisioner and adds to `plinthctl cluster` the
// hidden `launcher` subcommand (the per-cluster process that runs the VMs)
// and the QEMU details of `cluster show`. cluster.go registers the cluster
// command before this file's init runs (files initialise in name order).
func init() {
	provisioners[qemu.Name] = newQemuProvisioner
	provisionerModes[qemu.Name] = validation.ModeMetal
	provisionerImages[qemu.Name] = qemuDefaultImage
	for i, build := range commandFactories {
		commandFactories[i] = func(g *globalFlags) *cobra.Command {
			cmd := build(g)
			if cmd.Name() == "cluster" {
				extendClusterCmd(cmd)
			}
			return cmd
		}
	}
}

// newQemuProvisioner runs launchers as `<this plinthctl> cluster launcher`.
func newQemuProvisioner() (provision.Provisioner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("path of plinthctl, to run the cluster launcher: %w", err)
	}
	return qemu.New(qemu.Options{Launcher: []string{exe, "cluster", "launcher"}}), nil
}

// addQemuCreateFlags adds the QEMU nodes' disk flags to `cluster create`.
func addQemuCreateFlags(fl *pflag.FlagSet, f *clusterCreateFlags) {
	fl.IntVar(&f.DiskMiB, "disk-size", qemu.DefaultDiskMiB, "qemu: size of each node's disk in MiB (a sparse file in the state directory)")
	fl.BoolVar(&f.Install, "install", true, "qemu: install each node to its disk from the image's "+qemu.BundleFile+
		" at its first boot, then boot from the disk (UEFI, needs OVMF); false: every boot is live")
	fl.StringArrayVar(&f.KernelArgs, "extra-kernel-args", nil, "qemu: an argument added to each node's kernel command line, kept in its boot entries when installed; repeatable")
}

// qemuDisks gives a QEMU provisioner the nodes' disks and, when they are
// installed, puts the install patch (disk and bundle URL) before the
// user's patches, which may override it. Without a boot bundle in the
// image directory the nodes are not installed, with a note on warnOut.
// Other provisioners are left as they are.
func (f *clusterCreateFlags) qemuDisks(p provision.Provisioner, subnet netip.Prefix, imageDir string, patches clusterPatches, warnOut io.Writer) (clusterPatches, error) {
	q, ok := p.(*qemu.Provisioner)
	if !ok {
		if len(f.KernelArgs) > 0 {
			return patches, fmt.Errorf("--extra-kernel-args: only QEMU nodes boot a kernel of their own (--provisioner %s)", qemu.Name)
		}
		return patches, nil
	}
	if err := q.SetKernelArgs(f.KernelArgs); err != nil {
		return patches, err
	}
	if f.DiskMiB < qemu.MinDiskMiB {
		return patches, fmt.Errorf("--disk-size %d: a node's disk needs at least %d MiB", f.DiskMiB, qemu.MinDiskMiB)
	}
	install := f.Install
	if install && !qemu.HasBundle(imageDir) {
		fmt.Fprintf(warnOut, "note: no %s in %s (make image builds it): nodes are not installed, every boot is live\n", qemu.BundleFile, imageDir)
		install = false
	}
	q.SetDisks(qemu.Disks{SizeMiB: f.DiskMiB, Install: install})
	if !install {
		return patches, nil
	}
	p0, err := patch.LoadBytes("install to the node's disk", qemu.InstallPatch(subnet))
	if err != nil {
		return patches, err
	}
	patches.common = append([]patch.Patch{p0}, patches.common...)
	return patches, nil
}

// extendClusterCmd adds the launcher and the QEMU part of `cluster show`.
func extendClusterCmd(cluster *cobra.Command) {
	cluster.AddCommand(newClusterLauncherCmd())
	for _, sub := range cluster.Commands() {
		if sub.Name() != "show" || sub.RunE == nil {
			continue
		}
		show := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			if err := show(cmd, args); err != nil {
				return err
			}
			name, _ := cmd.Flags().GetString("name")
			c, err := provision.Load(name)
			if err != nil || c.Provisioner != qemu.Name {
				return nil
			}
			return printQemuDetails(cmd.OutOrStdout(), c)
		}
	}
}

// newClusterLauncherCmd builds `plinthctl cluster launcher`, which `cluster
// create --provisioner qemu` starts detached, one per cluster.
func newClusterLauncherCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "launcher",
		Short:  "Run a QEMU cluster's DHCP and config servers and its VMs (started by cluster create)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--state-dir: required (the cluster's state directory)")
			}
			signal.Ignore(syscall.SIGHUP)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("component", "qemu-launcher")
			return qemu.RunLauncher(ctx, dir, log)
		},
	}
	cmd.Flags().StringVar(&dir, "state-dir", "", "state directory of the cluster (holds launch.json)")
	return cmd
}

// printQemuDetails prints the launcher, the network and each VM's QEMU,
// disk and boots.
func printQemuDetails(out io.Writer, c *provision.Cluster) error {
	d, err := qemu.ReadDetails(c.StateDir)
	if err != nil {
		return err
	}
	state := "running"
	if !d.LauncherRunning {
		state = "not running: the VMs are gone; destroy the cluster"
	}
	fmt.Fprintf(out, "\nlauncher: pid %d, %s; log %s\n", d.LauncherPID, state, d.LauncherLog)
	fmt.Fprintf(out, "network: host link %s %s, bridge %s in namespace %s; configs on http://%s/configs/\n",
		d.Net.HostLink, d.Gateway, d.Net.Bridge, d.Net.Netns, d.ConfigServer)
	fmt.Fprintf(out, "accelerator: %s\n", d.Accel)
	switch {
	case d.Bundle != "":
		fmt.Fprintf(out, "install: from http://%s%s (%s); disk boots through %s\n", d.ConfigServer, qemu.BundlePath, d.Bundle, d.OVMF)
	case d.OVMF != "":
		fmt.Fprintf(out, "install: off (every boot is live unless a disk was installed otherwise)\n")
	default:
		fmt.Fprintf(out, "install: off; no OVMF: every boot is live\n")
	}
	fmt.Fprintln(out)
	w := newTable(out)
	fmt.Fprintln(w, "NODE\tQEMU-PID\tSTATE\tBOOT\tBOOTS\tRESTARTS\tCONFIGS-SERVED\tMAC\tTAP")
	for _, n := range d.Nodes {
		boot := string(n.BootMode)
		if boot == "" {
			boot = "-"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", n.Name, n.PID, n.State, boot, n.Boots, n.Restarts, n.ConfigFetches, n.MAC, n.Tap)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, n := range d.Nodes {
		fmt.Fprintf(out, "\n%s:\n  disk %s (%d MiB, %d MiB used)\n  console %s\n", n.Name, n.Disk, n.DiskBytes>>20, n.DiskUsed>>20, n.Console)
		if n.LastExit != "" {
			fmt.Fprintf(out, "  last QEMU exit: %s\n", n.LastExit)
		}
	}
	return nil
}
