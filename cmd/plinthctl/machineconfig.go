package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

func init() { registerCommand(newMachineConfigCmd) }

func newMachineConfigCmd(_ *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "machineconfig",
		Aliases: []string{"mc"},
		Short:   "Work with machine config files offline",
	}
	cmd.AddCommand(newMachineConfigPatchCmd())
	return cmd
}

type mcPatchFlags struct {
	patches []string
	output  string
	mode    string
}

func newMachineConfigPatchCmd() *cobra.Command {
	f := &mcPatchFlags{}
	cmd := &cobra.Command{
		Use:   "patch FILE --patch PATCH...",
		Short: "Apply patches to a machine config file",
		Long: `Apply strategic-merge or RFC 6902 JSON patches to a machine config and print
the result (or write it with -o). Each --patch is @file or inline YAML/JSON.
The patched config is validated; an invalid result is an error and nothing
is written. FILE "-" reads standard input.`,
		Example: `  plinthctl machineconfig patch worker.yaml --patch @hostname.yaml -o worker-1.yaml
  plinthctl mc patch cp.yaml --patch '[{"op": "add", "path": "/machine/certSANs/-", "value": "1.2.3.4"}]'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, args[0]) },
	}
	cmd.Flags().StringArrayVarP(&f.patches, "patch", "p", nil, "patch to apply (@file or inline); repeatable, applied in order")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the result to this file instead of standard output")
	cmd.Flags().StringVar(&f.mode, "mode", string(validation.ModeMetal), "validate the result for this mode: metal or container")
	_ = cmd.MarkFlagRequired("patch")
	return cmd
}

func (f *mcPatchFlags) run(cmd *cobra.Command, file string) error {
	mode, err := validation.ParseMode(f.mode)
	if err != nil {
		return fmt.Errorf("--mode: %w", err)
	}
	data, err := readInput(file, cmd.InOrStdin())
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	patches, err := loadPatches("--patch", f.patches)
	if err != nil {
		return err
	}
	out, err := patch.Apply(data, config.MergeKeys, patches...)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if _, err := loadAndValidate(file+" (patched)", out, mode, cmd.ErrOrStderr()); err != nil {
		return err
	}
	if f.output == "" {
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	if err := fsutil.WriteFileAtomic(f.output, out, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", f.output, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "patched config written to %s\n", f.output)
	return nil
}
