package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

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

// printQemuDetails prints the launcher, the network and each VM's QEMU.
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
	fmt.Fprintf(out, "accelerator: %s\n\n", d.Accel)
	w := newTable(out)
	fmt.Fprintln(w, "NODE\tQEMU-PID\tSTATE\tBOOTS\tCONFIGS-SERVED\tMAC\tTAP\tCONSOLE")
	for _, n := range d.Nodes {
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", n.Name, n.PID, n.State, n.Boots, n.ConfigFetches, n.MAC, n.Tap, n.Console)
	}
	return w.Flush()
}
