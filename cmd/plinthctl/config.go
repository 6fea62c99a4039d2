package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

func init() { registerCommand(newConfigCmd) }

// newConfigCmd builds `plinthctl config`, which reads and edits the client
// config chosen by --plinthconfig, $PLINTHCONFIG or ~/.plinth/config.
func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage the client config: contexts, endpoints, nodes and credentials",
		Long: `Manage the client config, the file that holds how to reach each cluster
(its endpoints, default nodes and TLS credentials) under a context name.
The file is --plinthconfig, else $PLINTHCONFIG, else ~/.plinth/config.`,
	}
	cmd.AddCommand(
		newConfigContextsCmd(g),
		newConfigContextCmd(g),
		newConfigListCmd(g, "endpoint", "endpoints", "IP...",
			func(c *clientconfig.Context) *[]string { return &c.Endpoints }),
		newConfigListCmd(g, "node", "nodes", "IP...",
			func(c *clientconfig.Context) *[]string { return &c.Nodes }),
		newConfigInfoCmd(g),
		newConfigMergeCmd(g),
		newConfigAddCmd(g),
		newConfigRemoveCmd(g),
	)
	return cmd
}

// newConfigContextsCmd lists the contexts as a table, marking the selected one.
func newConfigContextsCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "contexts",
		Short: "List the contexts of the client config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			selected := cfg.SelectedName("")
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 3, ' ', 0)
			fmt.Fprintln(w, "CURRENT\tNAME\tENDPOINTS\tNODES")
			for _, name := range cfg.Names() {
				mark := ""
				if name == selected {
					mark = "*"
				}
				c := cfg.Contexts[name]
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", mark, name, listOrDash(c.Endpoints, ","), listOrDash(c.Nodes, ","))
			}
			return w.Flush()
		},
	}
}

// newConfigContextCmd switches the current context.
func newConfigContextCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "context NAME",
		Short: "Make NAME the current context",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			name := args[0]
			if _, ok := cfg.Contexts[name]; !ok {
				return cfg.NotFound(name)
			}
			cfg.Context = name
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "current context is now %q\n", name)
			return nil
		},
	}
}

// newConfigListCmd builds `endpoint` and `node`, which replace one list of
// the selected context. field picks the list out of a context.
func newConfigListCmd(g *globalFlags, verb, plural, argsUse string, field func(*clientconfig.Context) *[]string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " " + argsUse,
		Short: "Set the " + plural + " of the current context",
		Long: "Set the " + plural + " of the current context (or of --context), replacing the old ones.\n" +
			"Values may be given as separate arguments or separated by commas.",
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := parseAddresses(args)
			if err != nil {
				return fmt.Errorf("%s: %w", plural, err)
			}
			if len(values) == 0 {
				return fmt.Errorf("give at least one address: plinthctl config %s %s", verb, argsUse)
			}
			path, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			ctx, err := cfg.Current("")
			if err != nil {
				return err
			}
			*field(ctx) = values
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s of context %q: %s\n", plural, cfg.SelectedName(""), strings.Join(values, ", "))
			return nil
		},
	}
}

// parseAddresses splits comma-separated arguments and rejects empty or
// blank-containing values, so a typo cannot store a useless address.
func parseAddresses(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		for _, v := range strings.Split(arg, ",") {
			if v == "" {
				return nil, fmt.Errorf("empty value in %q", arg)
			}
			if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' }) {
				return nil, fmt.Errorf("%q contains blanks or control characters", v)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// newConfigInfoCmd shows the selected context and its client certificate.
func newConfigInfoCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the current context: endpoints, nodes, roles and certificate expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			ctx, err := cfg.Current("")
			if err != nil {
				return err
			}
			name := cfg.SelectedName("")
			roles, expires := "- (no client certificate)", "-"
			if ctx.Crt != "" {
				cert, err := ctx.Certificate()
				if err != nil {
					return fmt.Errorf("context %q: %w", name, err)
				}
				roles = listOrDash(cert.Subject.Organization, ", ")
				expires = cert.NotAfter.UTC().Format(time.DateTime + " MST")
				if time.Now().After(cert.NotAfter) {
					expires += " (EXPIRED)"
				}
			}
			return writeFields(cmd.OutOrStdout(), [][2]string{
				{"Current context", name},
				{"Endpoints", listOrDash(ctx.Endpoints, ", ")},
				{"Nodes", listOrDash(ctx.Nodes, ", ")},
				{"Roles", roles},
				{"Certificate expires", expires},
			})
		},
	}
}

// newConfigMergeCmd merges another client config into this one.
func newConfigMergeCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "merge FILE",
		Short: "Merge the contexts of FILE into the client config",
		Long: `Merge the contexts of FILE (a client config, as written by plinthctl gen config)
into the client config. A context whose name is taken by a different one is
renamed NAME-1, NAME-2, ...; the current context of FILE becomes current.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			other, err := clientconfig.FromBytes(data)
			if err != nil {
				return fmt.Errorf("merge %s: %w", args[0], err)
			}
			if len(other.Contexts) == 0 {
				return fmt.Errorf("merge %s: it holds no contexts", args[0])
			}
			path, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			renames := cfg.Merge(other)
			if err := cfg.Save(path); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, r := range renames {
				fmt.Fprintf(out, "renamed context %q to %q: the name is taken\n", r.From, r.To)
			}
			fmt.Fprintf(out, "merged %s from %s into %s\n", plural(len(other.Contexts), "context"), args[0], path)
			if cfg.Context != "" {
				fmt.Fprintf(out, "current context is %q\n", cfg.Context)
			}
			return nil
		},
	}
}

// configAddFlags are the flags of `config add`.
type configAddFlags struct {
	CA, Crt, Key string // PEM files
}

// newConfigAddCmd adds a context from PEM files.
func newConfigAddCmd(g *globalFlags) *cobra.Command {
	var f configAddFlags
	cmd := &cobra.Command{
		Use:   "add NAME --ca FILE --crt FILE --key FILE [-e IP,...] [-n IP,...]",
		Short: "Add a context from PEM files",
		Long: `Add the context NAME from the PEM files of the OS CA certificate and of a
client certificate and its key. -e/--endpoints and -n/--nodes set the new
context's endpoints and nodes. The context becomes current if none is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigAdd(cmd.OutOrStdout(), g, &f, args[0])
		},
	}
	cmd.Flags().StringVar(&f.CA, "ca", "", "PEM file of the OS CA certificate")
	cmd.Flags().StringVar(&f.Crt, "crt", "", "PEM file of the client certificate")
	cmd.Flags().StringVar(&f.Key, "key", "", "PEM file of the client certificate's private key")
	for _, name := range []string{"ca", "crt", "key"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	return cmd
}

// runConfigAdd checks the credentials before anything is written, so a bad
// file leaves the client config unchanged.
func runConfigAdd(out io.Writer, g *globalFlags, f *configAddFlags, name string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' }) {
		return fmt.Errorf("add %q: %w", name, errNoName)
	}
	path, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
	if err != nil {
		return err
	}
	if _, ok := cfg.Contexts[name]; ok {
		return fmt.Errorf("context %q already exists in %s: remove it first or choose another name", name, path)
	}
	ctx := &clientconfig.Context{}
	for _, file := range []struct {
		path string
		dst  *string
	}{{f.CA, &ctx.CA}, {f.Crt, &ctx.Crt}, {f.Key, &ctx.Key}} {
		data, err := os.ReadFile(file.path)
		if err != nil {
			return fmt.Errorf("add %q: %w", name, err)
		}
		*file.dst = clientconfig.EncodePEM(data)
	}
	if _, err := ctx.CertPool(); err != nil {
		return fmt.Errorf("add %q: %s: %w", name, f.CA, err)
	}
	if _, err := ctx.ClientCertificate(); err != nil {
		return fmt.Errorf("add %q: %s, %s: %w", name, f.Crt, f.Key, err)
	}
	if ctx.Endpoints, err = parseAddresses(g.Endpoints); err != nil {
		return fmt.Errorf("add %q: endpoints: %w", name, err)
	}
	if ctx.Nodes, err = parseAddresses(g.Nodes); err != nil {
		return fmt.Errorf("add %q: nodes: %w", name, err)
	}
	cfg.Contexts[name] = ctx
	current := cfg.Context == ""
	if current {
		cfg.Context = name
	}
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(out, "added context %q to %s\n", name, path)
	if current {
		fmt.Fprintf(out, "current context is %q\n", name)
	}
	return nil
}

// configRemoveFlags are the flags of `config remove`.
type configRemoveFlags struct {
	Force bool // remove the current context too
}

// newConfigRemoveCmd removes a context.
func newConfigRemoveCmd(g *globalFlags) *cobra.Command {
	var f configRemoveFlags
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a context (the current one only with --force)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := clientconfig.Resolve(g.PlinthConfig, g.Context)
			if err != nil {
				return err
			}
			name := args[0]
			if _, ok := cfg.Contexts[name]; !ok {
				return cfg.NotFound(name)
			}
			current := name == cfg.Context
			if current && !f.Force {
				return fmt.Errorf("context %q is the current context: pass --force to remove it anyway", name)
			}
			delete(cfg.Contexts, name)
			if current {
				cfg.Context = ""
			}
			if err := cfg.Save(path); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "removed context %q\n", name)
			if current {
				fmt.Fprintln(out, "no context is current now: choose one with `plinthctl config context NAME`")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.Force, "force", false, "remove the context even if it is the current one")
	return cmd
}

// listOrDash joins values with sep, or returns "-" for none.
func listOrDash(values []string, sep string) string {
	if len(values) == 0 {
		return "-"
	}
	return strings.Join(values, sep)
}

// plural renders "1 context", "2 contexts".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// writeFields prints label/value pairs with the values aligned.
func writeFields(out io.Writer, fields [][2]string) error {
	w := tabwriter.NewWriter(out, 0, 0, 1, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(w, "%s:\t%s\n", f[0], f[1])
	}
	return w.Flush()
}

// errNoName is returned for an empty or blank context name.
var errNoName = errors.New("a context name must be non-empty and hold no blanks")
