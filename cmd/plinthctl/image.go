package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newImageCmd) }

// defaultImageNamespace is containerd's namespace of Kubernetes' images.
const defaultImageNamespace = "k8s.io"

func newImageCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "List and import container images of the nodes",
		Long: `Nodes pull nothing from registries they cannot reach: list the images their
containerd holds, and import image archives (docker save or OCI tarballs)
for pods to use with imagePullPolicy Never or IfNotPresent.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newImageListCmd(g), newImageImportCmd(g))
	return cmd
}

func newImageListCmd(g *globalFlags) *cobra.Command {
	ns := defaultImageNamespace
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the images of the nodes' containerd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			resp, err := nc.c.Machine.ImageList(nc.fanOut(cmd.Context()), &machine.ImageListRequest{Namespace: ns})
			if err != nil {
				return nc.callError("image list", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, nc.multi(), "NODE", "IMAGE", "DIGEST", "SIZE", "CREATED")
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				for _, img := range item.GetImages() {
					writeRow(w, nc.multi(), nc.name(item.GetMetadata()), img.GetName(), shortDigest(img.GetDigest()),
						humanBytes(uint64(img.GetSize())), ago(tsTime(img.GetCreatedAt())))
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
	cmd.Flags().StringVar(&ns, "namespace", defaultImageNamespace, "containerd namespace")
	return cmd
}

// shortDigest shortens "sha256:0123456789ab..." to its first 12 hex digits.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) < 12 {
		return orDash(d)
	}
	return hex[:12]
}

func newImageImportCmd(g *globalFlags) *cobra.Command {
	ns := defaultImageNamespace
	cmd := &cobra.Command{
		Use:   "import FILE.tar",
		Short: "Import an image archive into the nodes' containerd",
		Long: `Import an image archive (docker save, or an OCI image layout tarball) into
the containerd of every node of -n, one node after the other, and unpack it
so that pods start from it at once. The archive must name its images
(docker save IMAGE:TAG does).`,
		Example: `  docker save hello:v1 -o hello.tar
  plinthctl image import hello.tar -n 10.5.0.2,10.5.0.3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := os.Stat(args[0])
			if err != nil {
				return fmt.Errorf("image import: %w", err)
			}
			if st.IsDir() {
				return fmt.Errorf("image import: %s is a directory: give a tarball (docker save, or tar an OCI layout)", args[0])
			}
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			fails := &failures{out: cmd.ErrOrStderr()}
			for _, node := range nc.targets() {
				imgs, err := importImage(cmd, nc, node, ns, args[0])
				if err != nil {
					fails.failed(nc.nameOf(node), err)
					continue
				}
				for _, img := range imgs {
					fmt.Fprintf(cmd.OutOrStdout(), "imported %s (%s, %s) into %s on %s\n", img.GetName(), shortDigest(img.GetDigest()),
						humanBytes(uint64(img.GetSize())), ns, nc.nameOf(node))
				}
			}
			return fails.err()
		},
	}
	cmd.Flags().StringVar(&ns, "namespace", defaultImageNamespace, "containerd namespace")
	return cmd
}

// importChunk is the size of the chunks of a streamed file.
const importChunk = 1 << 20

// sendChunks reads r to its end and sends it in chunks of importChunk.
func sendChunks(r io.Reader, send func(*common.Data) error) error {
	buf := make([]byte, importChunk)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := send(&common.Data{Bytes: append([]byte(nil), buf[:n]...)}); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// importImage streams the archive at path to one node.
func importImage(cmd *cobra.Command, nc *nodeConn, node, ns, path string) ([]*machine.ImageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	stream, err := nc.c.Machine.ImageImport(nc.one(cmd.Context(), node))
	if err != nil {
		return nil, apiError{err}
	}
	send := func(m *machine.ImageImportRequest) error {
		if err := stream.Send(m); err != nil {
			// The node ended the call: its answer says why.
			if _, rerr := stream.CloseAndRecv(); rerr != nil {
				return apiError{rerr}
			}
			return apiError{err}
		}
		return nil
	}
	if err := send(&machine.ImageImportRequest{Request: &machine.ImageImportRequest_Header{Header: &machine.ImageImportHeader{Namespace: ns}}}); err != nil {
		return nil, err
	}
	if err := sendChunks(f, func(chunk *common.Data) error {
		return send(&machine.ImageImportRequest{Request: &machine.ImageImportRequest_Chunk{Chunk: chunk}})
	}); err != nil {
		return nil, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, apiError{err}
	}
	var out []*machine.ImageInfo
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return nil, errors.New(msg)
		}
		out = append(out, item.GetImages()...)
	}
	return out, nil
}
