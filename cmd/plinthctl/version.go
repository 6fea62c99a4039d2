package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

func init() { registerCommand(newVersionCmd) }

// versionFlags are the flags of `plinthctl version`.
type versionFlags struct {
	// Client prints only the client's version, without calling any node.
	Client bool
	// Short prints only the tags.
	Short bool
}

func newVersionCmd(g *globalFlags) *cobra.Command {
	f := &versionFlags{}
	cmd := &cobra.Command{
		Use:   "version [--client] [--short]",
		Short: "Print the client's version and the version of each node",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	cmd.Flags().BoolVar(&f.Client, "client", false, "print only the client's version")
	cmd.Flags().BoolVar(&f.Short, "short", false, "print only the version tags")
	return cmd
}

func (f *versionFlags) run(cmd *cobra.Command, g *globalFlags) error {
	out := cmd.OutOrStdout()
	if f.Short {
		fmt.Fprintf(out, "Client: %s\n", version.Tag)
	} else {
		fmt.Fprintln(out, "Client:")
		if err := writeIndentedFields(out, [][2]string{
			{"Tag", version.Tag},
			{"Go version", version.GoVersion()},
			{"OS/Arch", runtime.GOOS + "/" + runtime.GOARCH},
		}); err != nil {
			return err
		}
	}
	if f.Client {
		return nil
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	resp, err := nc.c.Machine.Version(nc.fanOut(cmd.Context()), &emptypb.Empty{})
	if err != nil {
		return nc.callError("version", err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	items := fanOutItems(fails, resp.GetMessages())
	if len(items) > 0 && !f.Short {
		fmt.Fprintln(out, "Server:")
	}
	for _, v := range items {
		node := nc.name(v.GetMetadata())
		if f.Short {
			fmt.Fprintf(out, "Server %s: %s\n", node, v.GetVersion().GetTag())
			continue
		}
		if err := writeIndentedFields(out, serverFields(node, v)); err != nil {
			return err
		}
	}
	return fails.err()
}

// serverFields are the lines printed for one node.
func serverFields(node string, v *machine.Version) [][2]string {
	info := v.GetVersion()
	return [][2]string{
		{"NODE", node},
		{"Tag", info.GetTag()},
		{"Go version", info.GetGoVersion()},
		{"OS/Arch", info.GetOs() + "/" + info.GetArch()},
		{"Kubernetes", info.GetKubernetes()},
		{"Mode", v.GetPlatform().GetMode()},
		{"Maintenance", strconv.FormatBool(v.GetMaintenance())},
	}
}

// writeIndentedFields prints "  Label:  value" lines with the values aligned.
func writeIndentedFields(out io.Writer, fields [][2]string) error {
	w := newTable(out)
	for _, f := range fields {
		fmt.Fprintf(w, "  %s:\t%s\n", f[0], f[1])
	}
	return w.Flush()
}
