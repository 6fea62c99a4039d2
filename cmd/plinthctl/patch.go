package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

func init() { registerCommand(newPatchCmd) }

// patchFlags are the flags of `plinthctl patch`.
type patchFlags struct {
	applyFlags
	// Patches are @file or inline patches, applied in order.
	Patches []string
}

func newPatchCmd(g *globalFlags) *cobra.Command {
	f := &patchFlags{}
	cmd := &cobra.Command{
		Use:   "patch machineconfig --patch PATCH...",
		Short: "Patch the machine config of nodes",
		Long: `Fetch the machine config of each node, apply strategic-merge or JSON patches
to it here, validate the result and apply it. A node whose config the
patches leave unchanged is left alone.`,
		Example: `  plinthctl patch machineconfig --patch @hostname.yaml -n 10.5.0.3
  plinthctl patch mc -p '[{"op": "add", "path": "/machine/certSANs/-", "value": "1.2.3.4"}]' --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isMachineConfig(args[0]) {
				return fmt.Errorf("cannot patch %q: only machineconfig can be patched", args[0])
			}
			return f.run(cmd, g)
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringArrayVarP(&f.Patches, "patch", "p", nil, "patch to apply (@file or inline); repeatable, applied in order")
	_ = cmd.MarkFlagRequired("patch")
	return cmd
}

func (f *patchFlags) run(cmd *cobra.Command, g *globalFlags) error {
	if _, err := f.request(cmd.Flags(), nil); err != nil {
		return err
	}
	patches, err := loadPatches("--patch", f.Patches)
	if err != nil {
		return err
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, node := range nc.targets() {
		if err := f.patchNode(cmd, nc, node, patches, fails); err != nil {
			fails.failed(nc.nameOf(node), err)
		}
	}
	return fails.err()
}

// patchNode patches, validates and applies the config of one node.
func (f *patchFlags) patchNode(cmd *cobra.Command, nc *nodeConn, node string, patches []patch.Patch, fails *failures) error {
	name := nc.nameOf(node)
	ctx := nc.one(cmd.Context(), node)
	current, err := fetchConfig(ctx, nc)
	if err != nil {
		return err
	}
	patched, err := patch.Apply(current, config.MergeKeys, patches...)
	if err != nil {
		return err
	}
	if bytes.Equal(patched, current) {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: the patches change nothing; config left as it is\n", name)
		return nil
	}
	if _, err := loadAndValidate("machine config of "+name+" (patched)", patched, validation.ModeMetal, cmd.ErrOrStderr()); err != nil {
		return err
	}
	req, err := f.request(cmd.Flags(), patched)
	if err != nil {
		return err
	}
	resp, err := nc.c.Machine.ApplyConfiguration(ctx, req)
	if err != nil {
		return fmt.Errorf("apply config: %w", apiError{err})
	}
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		printApplied(cmd.OutOrStdout(), name, item, req.GetDryRun())
	}
	return nil
}
