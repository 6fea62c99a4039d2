package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// genSubcommands are added to `gen` after its own subcommands, so that other
// files (gen config) can join it from their init functions.
var genSubcommands []func(*globalFlags) *cobra.Command

// genClock dates the certificates gen writes; tests fix it.
var genClock = time.Now

func init() { registerCommand(newGenCmd) }

// newGenCmd builds `plinthctl gen`, the parent of the generators.
func newGenCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate cluster secrets, configs, keys and certificates",
		Long: `Generate files locally; nothing is sent to any node. Existing files are
never overwritten unless --force is given, and every file is written
atomically (private keys with mode 0600).`,
		Args: cobra.NoArgs,
	}
	for _, f := range []func(*globalFlags) *cobra.Command{
		newGenSecretsCmd, newGenCACmd, newGenKeypairCmd, newGenKeyCmd, newGenCSRCmd, newGenCrtCmd,
	} {
		cmd.AddCommand(f(g))
	}
	for _, f := range genSubcommands {
		cmd.AddCommand(f(g))
	}
	return cmd
}

// File modes of generated files.
const (
	genModePublic  os.FileMode = 0o644
	genModePrivate os.FileMode = 0o600
)

// genOutput is one file a gen command writes.
type genOutput struct {
	path string
	data []byte
	mode os.FileMode
}

// writeGenOutputs writes files atomically and prints their paths. Unless force
// is set it first checks that none exists, so that a refusal changes nothing.
func writeGenOutputs(cmd *cobra.Command, force bool, files ...genOutput) error {
	if !force {
		for _, f := range files {
			_, err := os.Lstat(f.path)
			switch {
			case err == nil:
				return fmt.Errorf("%s already exists; use --force to overwrite it", f.path)
			case !errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("check %s: %w", f.path, err)
			}
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", f.path, err)
		}
		if err := fsutil.WriteFileAtomic(f.path, f.data, f.mode); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", f.path)
	}
	return nil
}

// genOutputFlags are the flags of gen commands that write files named after a
// NAME into a directory.
type genOutputFlags struct {
	dir   string
	force bool
}

// add registers --output-dir and --force.
func (o *genOutputFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.dir, "output-dir", ".", "directory the files are written to")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite existing files")
}

// path returns the path of NAME+ext in the output directory. NAME must be a
// plain file name, not a path.
func (o *genOutputFlags) path(name, ext string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, os.PathSeparator) {
		return "", fmt.Errorf("%q cannot be used as a file name", name)
	}
	return filepath.Join(o.dir, name+ext), nil
}

// genKeyTypeFlags choose the algorithm of a generated key.
type genKeyTypeFlags struct {
	rsa, ed25519 bool
}

// add registers --rsa and --ed25519; the default is ECDSA P-256.
func (k *genKeyTypeFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&k.rsa, "rsa", false, "generate an RSA-4096 key instead of ECDSA P-256")
	cmd.Flags().BoolVar(&k.ed25519, "ed25519", false, "generate an Ed25519 key instead of ECDSA P-256")
	cmd.MarkFlagsMutuallyExclusive("rsa", "ed25519")
}

// keyType returns the chosen algorithm.
func (k *genKeyTypeFlags) keyType() pki.KeyType {
	switch {
	case k.rsa:
		return pki.KeyRSA4096
	case k.ed25519:
		return pki.KeyEd25519
	default:
		return pki.KeyECDSAP256
	}
}

// genHoursFlag is --hours, the validity of a certificate.
type genHoursFlag struct{ hours int }

// add registers --hours with a default.
func (h *genHoursFlag) add(cmd *cobra.Command, def int, what string) {
	cmd.Flags().IntVar(&h.hours, "hours", def, "hours the "+what+" is valid for")
}

// validity returns the validity period or an error naming the flag.
func (h *genHoursFlag) validity() (time.Duration, error) {
	if h.hours <= 0 {
		return 0, fmt.Errorf("--hours must be positive, got %d", h.hours)
	}
	return time.Duration(h.hours) * time.Hour, nil
}

// genParseIPs parses --ip values.
func genParseIPs(values []string) ([]netip.Addr, error) {
	ips := make([]netip.Addr, 0, len(values))
	for _, v := range values {
		ip, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--ip %q: not an IP address", v)
		}
		ips = append(ips, ip)
	}
	return ips, nil
}
