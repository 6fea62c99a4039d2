package main

import (
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newLsCmd) }

// lsFlags are the flags of `plinthctl ls`.
type lsFlags struct {
	// Recurse lists subdirectories too.
	Recurse bool
	// Depth limits recursion (0: unlimited); setting it implies Recurse.
	Depth int32
	// Long shows mode, size and modification time.
	Long bool
}

func newLsCmd(g *globalFlags) *cobra.Command {
	f := &lsFlags{}
	cmd := &cobra.Command{
		Use:   "ls [-r] [-d N] [-l] PATH",
		Short: "List a directory of the nodes",
		Example: `  plinthctl ls /var/log
  plinthctl ls -l -d 2 /system`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, g, args[0]) },
	}
	cmd.Flags().BoolVarP(&f.Recurse, "recurse", "r", false, "list subdirectories too")
	cmd.Flags().Int32VarP(&f.Depth, "depth", "d", 0, "recurse at most N levels (implies -r)")
	cmd.Flags().BoolVarP(&f.Long, "long", "l", false, "show mode, size and modification time")
	return cmd
}

func (f *lsFlags) run(cmd *cobra.Command, g *globalFlags, root string) error {
	if f.Depth < 0 {
		return fmt.Errorf("--depth %d: expected 0 or more", f.Depth)
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	req := &machine.ListRequest{Root: root, Recurse: f.Recurse || f.Depth > 0, RecursionDepth: f.Depth}
	stream, err := nc.c.Machine.List(nc.fanOut(cmd.Context()), req)
	if err != nil {
		return nc.callError("ls "+root, err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	w := newTable(cmd.OutOrStdout())
	if f.Long {
		writeRow(w, nc.multi(), "NODE", "MODE", "SIZE(B)", "MODIFIED", "NAME")
	} else {
		writeRow(w, nc.multi(), "NODE", "NAME")
	}
	err = recvAll(stream.Recv, func(fi *machine.FileInfo) error {
		if fails.check(nc, fi.GetMetadata()) {
			return nil
		}
		node := nc.name(fi.GetMetadata())
		if fi.GetError() != "" {
			fails.failed(node, fmt.Errorf("%s: %s", fi.GetName(), fi.GetError()))
			return nil
		}
		if f.Long {
			writeRow(w, nc.multi(), node, fs.FileMode(fi.GetMode()).String(), strconv.FormatInt(fi.GetSize(), 10),
				time.Unix(fi.GetModified(), 0).UTC().Format(time.DateTime), displayName(fi))
		} else {
			writeRow(w, nc.multi(), node, displayName(fi))
		}
		return nil
	})
	if flushErr := w.Flush(); err == nil {
		err = flushErr
	}
	if err != nil {
		return nc.callError("ls "+root, err)
	}
	return fails.err()
}

// displayName is the entry's name relative to the listed root, with its
// target for a symlink.
func displayName(fi *machine.FileInfo) string {
	name := fi.GetRelativeName()
	if name == "" {
		name = fi.GetName()
	}
	if fi.GetLink() != "" {
		name += " -> " + fi.GetLink()
	}
	return name
}
