package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

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
	var out fieldBlock
	if f.Short {
		out.add("Client", version.Tag)
	} else {
		out.section("Client")
		out.add("  Tag", version.Tag)
		out.add("  Go version", version.GoVersion())
		out.add("  OS/Arch", runtime.GOOS+"/"+runtime.GOARCH)
	}
	if f.Client {
		return out.write(cmd.OutOrStdout())
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
		out.section("Server")
	}
	for _, v := range items {
		node := nc.name(v.GetMetadata())
		if f.Short {
			out.add("Server "+node, v.GetVersion().GetTag())
			continue
		}
		for _, field := range serverFields(node, v) {
			out.add("  "+field[0], field[1])
		}
	}
	if err := out.write(cmd.OutOrStdout()); err != nil {
		return err
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

// fieldBlock collects "Label: value" lines and section titles, and writes
// them with every value aligned.
type fieldBlock struct {
	lines []fieldLine
}

type fieldLine struct {
	label, value string
	section      bool
}

func (b *fieldBlock) section(title string) {
	b.lines = append(b.lines, fieldLine{label: title, section: true})
}

func (b *fieldBlock) add(label, value string) {
	b.lines = append(b.lines, fieldLine{label: label, value: value})
}

func (b *fieldBlock) write(out io.Writer) error {
	width := 0
	for _, l := range b.lines {
		if !l.section {
			width = max(width, len(l.label)+1)
		}
	}
	var sb strings.Builder
	for _, l := range b.lines {
		if l.section {
			sb.WriteString(l.label + ":\n")
			continue
		}
		sb.WriteString(strings.TrimRight(fmt.Sprintf("%-*s  %s", width, l.label+":", l.value), " ") + "\n")
	}
	_, err := io.WriteString(out, sb.String())
	return err
}
