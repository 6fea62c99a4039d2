package main

import (
	"io"

	"github.com/spf13/cobra"
)

// globalFlags are the flags every plinthctl command accepts.
type globalFlags struct {
	// PlinthConfig is the path of the client config (--plinthconfig, $PLINTHCONFIG,
	// default ~/.plinth/config).
	PlinthConfig string
	// Context overrides the client config's current context.
	Context string
	// Nodes are the nodes a call is fanned out to (-n).
	Nodes []string
	// Endpoints override the context's endpoints (-e).
	Endpoints []string
}

// commandFactory builds one top-level verb. Each verb's file registers its
// factory in init so that files stay independent of each other.
type commandFactory func(g *globalFlags) *cobra.Command

var commandFactories []commandFactory

// registerCommand adds a top-level verb to plinthctl.
func registerCommand(f commandFactory) { commandFactories = append(commandFactories, f) }

// newRootCmd builds the whole command tree writing to out and errOut. Tests
// call it directly to check the output of every command.
func newRootCmd(out, errOut io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "plinthctl",
		Short:         "Client for Plinth, the minimal operating system for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&g.PlinthConfig, "plinthconfig", "", "path of the client config (default $PLINTHCONFIG or ~/.plinth/config)")
	pf.StringVar(&g.Context, "context", "", "context of the client config to use")
	pf.StringSliceVarP(&g.Nodes, "nodes", "n", nil, "nodes to run the call on")
	pf.StringSliceVarP(&g.Endpoints, "endpoints", "e", nil, "endpoints to connect to, overriding the context's")
	for _, f := range commandFactories {
		root.AddCommand(f(g))
	}
	return root
}
