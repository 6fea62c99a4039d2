package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

func init() { registerCommand(newKubeconfigCmd) }

// kubeconfigFlags are the flags of `plinthctl kubeconfig`.
type kubeconfigFlags struct {
	// Merge merges into an existing file instead of refusing to replace it.
	Merge bool
	// Force replaces entries of another cluster of the same names (merge)
	// or the whole file (no merge).
	Force bool
	// Server replaces the kubeconfig's API server URL.
	Server string
}

func newKubeconfigCmd(g *globalFlags) *cobra.Command {
	f := &kubeconfigFlags{}
	cmd := &cobra.Command{
		Use:   "kubeconfig [PATH]",
		Short: "Fetch an admin kubeconfig from a control plane",
		Long: `Fetch a fresh admin kubeconfig (a client certificate of group
system:masters, valid a year) from a control plane and merge it into
$KUBECONFIG's first file or ~/.kube/config: its context is admin@CLUSTER and
becomes current. Entries of the same cluster are refreshed; those of another
cluster of the same name are kept and the new ones renamed (admin@CLUSTER-1),
unless --force.

With PATH the kubeconfig goes to that file instead (PATH/kubeconfig for a
directory), merged into it when it exists; with --merge=false an existing
file is refused unless --force. PATH "-" prints it.`,
		Example: `  plinthctl kubeconfig -n 10.5.0.2
  plinthctl kubeconfig ./kubeconfig --merge=false
  plinthctl kubeconfig - --server https://127.0.0.1:6443`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := controlPlaneTarget(g, nc, "kubeconfig")
			if err != nil {
				return err
			}
			data, err := fetchKubeconfig(cmd.Context(), nc.c, node, targetName(nc, node))
			if err != nil {
				return err
			}
			if f.Server != "" {
				if data, err = withServer(data, f.Server); err != nil {
					return err
				}
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			if target == "-" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			path, context, err := saveKubeconfig(target, data, f.Merge, f.Force, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			kubectl := "kubectl"
			if def, derr := defaultKubeconfigPath(); derr != nil || def != path {
				kubectl += " --kubeconfig " + path
			}
			fmt.Fprintf(cmd.OutOrStdout(), "context %q is current: %s get nodes\n", context, kubectl)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&f.Merge, "merge", "m", true, "merge into the file when it exists")
	cmd.Flags().BoolVarP(&f.Force, "force", "f", false, "replace another cluster's entries of the same names (or, without merge, the file)")
	cmd.Flags().StringVar(&f.Server, "server", "", "API server URL to write instead of the cluster's control-plane endpoint")
	return cmd
}

// fetchKubeconfig reads the Kubeconfig stream of node ("" is the
// endpoint), named name in errors.
func fetchKubeconfig(ctx context.Context, c *client.Client, node, name string) ([]byte, error) {
	stream, err := c.Machine.Kubeconfig(client.WithNode(ctx, node), &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("kubeconfig from %s: %w", name, apiError{err})
	}
	var data []byte
	err = recvAll(stream.Recv, func(d *common.Data) error {
		if msg := d.GetMetadata().GetError(); msg != "" {
			return errors.New(msg)
		}
		data = append(data, d.GetBytes()...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kubeconfig from %s: %w", name, apiError{err})
	}
	if _, err := kubeconfig.Parse(data); err != nil {
		return nil, fmt.Errorf("kubeconfig from %s: %w", name, err)
	}
	return data, nil
}

// withServer points the kubeconfig data at server.
func withServer(data []byte, server string) ([]byte, error) {
	kc, err := kubeconfig.Parse(data)
	if err != nil {
		return nil, err
	}
	kc.SetServer(server)
	return kc.Bytes()
}

// defaultKubeconfigPath is $KUBECONFIG's first file, else ~/.kube/config.
func defaultKubeconfigPath() (string, error) {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		for p := range strings.SplitSeq(env, string(os.PathListSeparator)) {
			if p != "" {
				return p, nil
			}
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kubeconfig path: %w", err)
	}
	return filepath.Join(home, ".kube", "config"), nil
}

// saveKubeconfig writes data to target (default: defaultKubeconfigPath;
// a directory: DIR/kubeconfig), merged into an existing file when merge
// is set, and says what it did on out. It returns the file's path and the
// context's name there.
func saveKubeconfig(target string, data []byte, merge, force bool, out io.Writer) (path, context string, err error) {
	if target == "" {
		if target, err = defaultKubeconfigPath(); err != nil {
			return "", "", err
		}
	}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		target = filepath.Join(target, "kubeconfig")
	}
	kc, err := kubeconfig.Parse(data)
	if err != nil {
		return "", "", err
	}
	existing, err := os.ReadFile(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
		existing = nil
	case err != nil:
		return "", "", fmt.Errorf("kubeconfig: %w", err)
	case !merge && !force:
		return "", "", fmt.Errorf("kubeconfig: %s exists: merge into it (--merge), replace it (--force) or choose another path", target)
	case !merge:
		existing = nil
	}
	merged, res, err := kubeconfig.Merge(existing, kc, force)
	if err != nil {
		return "", "", fmt.Errorf("kubeconfig %s: %w", target, err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	if err := fsutil.WriteFileAtomic(target, merged, 0o600); err != nil {
		return "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	switch {
	case res.Renamed:
		fmt.Fprintf(out, "%s has entries of another cluster named like this one: kept, and this cluster's context is %q (--force replaces them)\n",
			target, res.Context)
	case res.Replaced:
		fmt.Fprintf(out, "refreshed context %q in %s\n", res.Context, target)
	default:
		fmt.Fprintf(out, "added context %q to %s\n", res.Context, target)
	}
	return target, res.Context, nil
}
