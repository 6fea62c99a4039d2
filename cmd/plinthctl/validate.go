package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

func init() { registerCommand(newValidateCmd) }

type validateFlags struct {
	files  []string
	mode   string
	strict bool
}

func newValidateCmd(_ *globalFlags) *cobra.Command {
	f := &validateFlags{}
	cmd := &cobra.Command{
		Use:   "validate --config FILE... [--mode metal|container]",
		Short: "Validate machine config files offline",
		Long: `Validate machine configs for a mode (metal: a machine booting the Plinth
image; container: a node in Docker). Every problem is listed with its file,
line:column, document and field path. Warnings do not fail unless --strict.`,
		Example: `  plinthctl validate --config controlplane.yaml --config worker.yaml --mode metal`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringArrayVarP(&f.files, "config", "c", nil, "config file to validate (\"-\" for standard input); repeatable")
	cmd.Flags().StringVarP(&f.mode, "mode", "m", string(validation.ModeMetal), "mode to validate for: metal or container")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "treat warnings as errors")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func (f *validateFlags) run(cmd *cobra.Command) error {
	mode, err := validation.ParseMode(f.mode)
	if err != nil {
		return fmt.Errorf("--mode: %w", err)
	}
	failed := 0
	for _, file := range f.files {
		data, err := readInput(file, cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		c, err := loadAndValidate(file, data, mode, cmd.OutOrStdout())
		if err != nil {
			fmt.Fprintln(cmd.OutOrStdout(), err)
			failed++
			continue
		}
		if w, _ := c.Validate(mode); f.strict && len(w) > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (--strict)\n", file, plural(len(w), "warning"))
			failed++
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is valid for %s mode\n", file, mode)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d configs failed validation", failed, len(f.files))
	}
	return nil
}
