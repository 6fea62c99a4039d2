package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newCopyCmd) }

func newCopyCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "copy PATH LOCAL",
		Aliases: []string{"cp"},
		Short:   "Copy a file or directory of a node to this machine",
		Long: `Copy PATH of one node into the local directory LOCAL (created if missing),
or with LOCAL "-" write the gzipped tar stream to standard output. Entries
that would land outside LOCAL are refused.`,
		Example: `  plinthctl copy /var/log ./logs -n 10.5.0.2
  plinthctl cp /var/log - > logs.tar.gz`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := nc.single("copy")
			if err != nil {
				return err
			}
			stream, err := nc.c.Machine.Copy(nc.one(cmd.Context(), node), &machine.CopyRequest{RootPath: args[0]})
			if err != nil {
				return nc.callError("copy "+args[0], err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			r := &dataReader{nc: nc, recv: stream.Recv, fails: fails}
			if args[1] == "-" {
				_, err = io.Copy(cmd.OutOrStdout(), r)
			} else {
				err = extractTarGz(r, args[1])
			}
			if fails.count > 0 {
				return fails.err()
			}
			if _, isRPC := status.FromError(err); err != nil && !isRPC {
				return fmt.Errorf("copy %s into %s: %w", args[0], args[1], err)
			}
			if err != nil {
				return nc.callError("copy "+args[0], err)
			}
			return nil
		},
	}
}

// dataReader reads the bytes of a Data stream; an item with an error is
// reported to fails and ends it.
type dataReader struct {
	nc    *nodeConn
	recv  func() (*common.Data, error)
	fails *failures
	buf   []byte
}

// errNodeItem ends a dataReader whose node sent an error.
var errNodeItem = errors.New("the node failed")

func (r *dataReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		d, err := r.recv()
		if err != nil {
			return 0, err // io.EOF at the end
		}
		if r.fails.check(r.nc, d.GetMetadata()) {
			return 0, errNodeItem
		}
		r.buf = d.GetBytes()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// extractTarGz unpacks a gzipped tar into dir through an os.Root, so that
// no entry (by its name or through a symlink) can write outside dir.
func extractTarGz(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close() //nolint:errcheck // directory handle
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		if err := extractEntry(root, hdr, tr); err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
}

// extractEntry writes one tar entry; kinds other than directories,
// regular files and symlinks are skipped.
func extractEntry(root *os.Root, hdr *tar.Header, body io.Reader) error {
	name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
	if name == ".." || strings.HasPrefix(name, "../") {
		return errors.New("path leaves the destination")
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." && hdr.Typeflag != tar.TypeDir {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		return root.MkdirAll(name, mode|0o700)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, body); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		return root.Symlink(hdr.Linkname, name)
	}
	return nil
}
