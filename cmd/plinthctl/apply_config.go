package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

func init() { registerCommand(newApplyConfigCmd) }

// applyModes maps --mode values to the API's modes.
var applyModes = map[string]machine.ApplyConfigurationRequest_Mode{
	"auto":      machine.ApplyConfigurationRequest_AUTO,
	"no-reboot": machine.ApplyConfigurationRequest_NO_REBOOT,
	"reboot":    machine.ApplyConfigurationRequest_REBOOT,
	"staged":    machine.ApplyConfigurationRequest_STAGED,
	"try":       machine.ApplyConfigurationRequest_TRY,
}

// modeName is the --mode value of an API mode.
func modeName(m machine.ApplyConfigurationRequest_Mode) string {
	for name, v := range applyModes {
		if v == m {
			return name
		}
	}
	return strings.ToLower(m.String())
}

// applyFlags are the flags every command that applies a config shares.
type applyFlags struct {
	// Mode is how to apply: auto, no-reboot, reboot, staged or try.
	Mode string
	// Timeout is the rollback delay of --mode try.
	Timeout time.Duration
	// DryRun asks the node what it would do, and the diff, without applying.
	DryRun bool
}

func (a *applyFlags) add(fs *pflag.FlagSet) {
	fs.StringVarP(&a.Mode, "mode", "m", "auto", "how to apply: auto (reboot only if needed), no-reboot, reboot, staged (at next boot) or try (roll back after --timeout)")
	fs.DurationVar(&a.Timeout, "timeout", constants.DefaultTryModeTimeout, "with --mode try, roll back after this long unless confirmed by another apply")
	fs.BoolVar(&a.DryRun, "dry-run", false, "show what the node would do and the config diff, without applying")
}

// request checks the flags and builds the request for data.
func (a *applyFlags) request(fs *pflag.FlagSet, data []byte) (*machine.ApplyConfigurationRequest, error) {
	mode, ok := applyModes[a.Mode]
	if !ok {
		names := make([]string, 0, len(applyModes))
		for n := range applyModes {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("--mode %q: expected one of %s", a.Mode, strings.Join(names, ", "))
	}
	req := &machine.ApplyConfigurationRequest{Data: data, Mode: mode, DryRun: a.DryRun}
	if mode == machine.ApplyConfigurationRequest_TRY {
		if a.Timeout <= 0 {
			return nil, fmt.Errorf("--timeout %s: expected a positive duration", a.Timeout)
		}
		req.TryModeTimeout = durationpb.New(a.Timeout)
	} else if fs.Changed("timeout") {
		return nil, fmt.Errorf("--timeout is the rollback delay of --mode try, not of --mode %s", a.Mode)
	}
	return req, nil
}

// printApplied prints what one node did with a config: the details, the
// warnings and, for a dry run, the diff.
func printApplied(out io.Writer, node string, a *machine.ApplyConfiguration, dryRun bool) {
	details := a.GetModeDetails()
	if details == "" {
		details = "applied"
	}
	if dryRun {
		details = "dry run: " + details
	}
	fmt.Fprintf(out, "%s: %s (mode %s)\n", node, details, modeName(a.GetMode()))
	for _, w := range a.GetWarnings() {
		fmt.Fprintf(out, "%s: warning: %s\n", node, w)
	}
	if !dryRun {
		return
	}
	diff := a.GetDiff()
	if diff == "" {
		fmt.Fprintf(out, "%s: no changes\n", node)
		return
	}
	if !strings.HasSuffix(diff, "\n") {
		diff += "\n"
	}
	fmt.Fprintf(out, "%s: config diff:\n%s", node, diff)
}

// applyConfigFlags are the flags of `plinthctl apply-config`.
type applyConfigFlags struct {
	applyFlags
	// File is the machine config to apply ("-": standard input).
	File string
	// Insecure talks to nodes in maintenance mode, without client certificates.
	Insecure bool
	// CertFingerprint pins a maintenance node's certificate.
	CertFingerprint string
	// ConfigPatches are applied to File before it is sent.
	ConfigPatches []string
}

func newApplyConfigCmd(g *globalFlags) *cobra.Command {
	f := &applyConfigFlags{}
	cmd := &cobra.Command{
		Use:   "apply-config -f FILE [--mode MODE] [--dry-run] [--insecure [--cert-fingerprint FP]]",
		Short: "Apply a machine config to nodes",
		Long: `Send a machine config to the nodes. The config (patched with --config-patch)
is validated here first, so a broken file is refused with its line numbers
before any node sees it; each node then validates it for its own mode and
says what it did.

--insecure talks to nodes in maintenance mode (booted without a config),
which have no certificate a CA could vouch for; each node (-n, or -e) is
contacted directly. Without --cert-fingerprint any certificate is accepted:
compare it with the fingerprint the node prints on its console.`,
		Example: `  plinthctl apply-config -f worker.yaml --insecure -n 10.5.0.3
  plinthctl apply-config -f controlplane.yaml -n 10.5.0.2 --dry-run
  plinthctl apply-config -f cp.yaml --mode try --timeout 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVarP(&f.File, "file", "f", "", `machine config to apply ("-" for standard input)`)
	cmd.Flags().BoolVarP(&f.Insecure, "insecure", "i", false, "talk to nodes in maintenance mode (TLS without client certificate)")
	cmd.Flags().StringVar(&f.CertFingerprint, "cert-fingerprint", "", "with --insecure, accept only a node certificate with this SHA-256 fingerprint")
	cmd.Flags().StringArrayVarP(&f.ConfigPatches, "config-patch", "p", nil, "patch to apply to the config first (@file or inline); repeatable")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (f *applyConfigFlags) run(cmd *cobra.Command, g *globalFlags) error {
	if f.CertFingerprint != "" && !f.Insecure {
		return fmt.Errorf("--cert-fingerprint pins a maintenance node's certificate: add --insecure")
	}
	data, err := f.load(cmd)
	if err != nil {
		return err
	}
	req, err := f.request(cmd.Flags(), data)
	if err != nil {
		return err
	}
	if f.Insecure {
		return f.applyInsecure(cmd, g, req)
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	return applyAndPrint(cmd, nc, nc.fanOut(cmd.Context()), req)
}

// load reads, patches and validates the config file.
func (f *applyConfigFlags) load(cmd *cobra.Command) ([]byte, error) {
	data, err := readInput(f.File, cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	name := f.File
	if len(f.ConfigPatches) > 0 {
		patches, err := loadPatches("--config-patch", f.ConfigPatches)
		if err != nil {
			return nil, err
		}
		if data, err = patch.Apply(data, config.MergeKeys, patches...); err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		name += " (patched)"
	}
	// Metal validation is the more lenient mode; each node validates for its own.
	if _, err := loadAndValidate(name, data, validation.ModeMetal, cmd.ErrOrStderr()); err != nil {
		return nil, err
	}
	return data, nil
}

// applyAndPrint sends req with ctx (which names the nodes) and prints each
// node's answer.
func applyAndPrint(cmd *cobra.Command, nc *nodeConn, ctx context.Context, req *machine.ApplyConfigurationRequest) error {
	resp, err := nc.c.Machine.ApplyConfiguration(ctx, req)
	if err != nil {
		err = nc.callError("apply config", err)
		if strings.Contains(err.Error(), "certificate signed by unknown authority") {
			err = fmt.Errorf("%w\n(a node in maintenance mode has no certificate from the OS CA: apply its first config with --insecure)", err)
		}
		return err
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		printApplied(cmd.OutOrStdout(), nc.name(item.GetMetadata()), item, req.GetDryRun())
	}
	return fails.err()
}

// applyInsecure sends the config to each maintenance node directly.
func (f *applyConfigFlags) applyInsecure(cmd *cobra.Command, g *globalFlags, req *machine.ApplyConfigurationRequest) error {
	nodes := g.Nodes
	if len(nodes) == 0 {
		nodes = g.Endpoints
	}
	if len(nodes) == 0 {
		return fmt.Errorf("--insecure needs the nodes' addresses: give them with -n")
	}
	if f.CertFingerprint == "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: no --cert-fingerprint: the nodes' certificates are not verified")
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, node := range nodes {
		c, err := client.New(cmd.Context(), client.WithEndpoints(node), client.WithMaintenance(f.CertFingerprint))
		if err != nil {
			return err
		}
		nc := &nodeConn{c: c}
		resp, err := c.Machine.ApplyConfiguration(cmd.Context(), req)
		nc.close()
		if err != nil {
			fails.failed(node, apiError{err})
			continue
		}
		for _, item := range fanOutItems(fails, resp.GetMessages()) {
			printApplied(cmd.OutOrStdout(), node, item, req.GetDryRun())
		}
	}
	return fails.err()
}
