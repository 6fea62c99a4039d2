package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config/explain"
)

func init() { registerCommand(newExplainCmd) }

// explainFlags are the flags of `plinthctl explain`.
type explainFlags struct {
	// Recursive prints the whole subtree of fields, names and types only.
	Recursive bool
}

// newExplainCmd builds `plinthctl explain`, the machine config reference in
// the terminal. It needs no node and no client config.
func newExplainCmd(_ *globalFlags) *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain [PATH]",
		Short: "Describe the fields of the machine config",
		Long: `Describe a field of the machine config: its type, documentation, allowed
values, default and example, and the fields below it.

PATH starts at the root of the MachineConfig document (machine.network) or
with a document kind (TrustedRootsConfig.certificates). List indexes and map
keys in brackets are ignored. Without PATH, explain lists the document kinds
and the fields of MachineConfig.`,
		Example: `  plinthctl explain machine.network.interfaces
  plinthctl explain 'machine.network.interfaces[0].routes[].gateway'
  plinthctl explain cluster --recursive
  plinthctl explain TrustedRootsConfig`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return explain.Complete(toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				if err := explain.RenderOverview(out, f.Recursive); err != nil {
					return err
				}
				_, err := fmt.Fprintln(out, "\nRun 'plinthctl explain PATH' for one field, e.g. 'plinthctl explain machine.network'.")
				return err
			}
			field, err := explain.Lookup(args[0])
			if err != nil {
				return err
			}
			return explain.Render(out, field, f.Recursive)
		},
	}
	cmd.Flags().BoolVarP(&f.Recursive, "recursive", "r", false, "print every field below PATH, names and types only")
	return cmd
}
