package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// genSecretsFlags are the flags of `gen secrets`.
type genSecretsFlags struct {
	output string
	force  bool
}

// newGenSecretsCmd builds `plinthctl gen secrets`.
func newGenSecretsCmd(_ *globalFlags) *cobra.Command {
	f := &genSecretsFlags{}
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Generate the secrets bundle of a new cluster",
		Long: `Generate the cluster secrets (cluster identity, tokens, the encryption key of
Kubernetes Secrets and the OS, Kubernetes, aggregator and etcd CAs) into one
file, mode 0600. Keep it safe: 'gen config --with-secrets' uses it to make
configs for the same cluster later.`,
		Example: `  plinthctl gen secrets -o secrets.yaml`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVarP(&f.output, "output-file", "o", "secrets.yaml", "file the bundle is written to")
	cmd.Flags().BoolVar(&f.force, "force", false, "overwrite an existing file")
	return cmd
}

// run does the work of `gen secrets`.
func (f *genSecretsFlags) run(cmd *cobra.Command) error {
	b, err := secrets.NewBundle(secrets.WithClock(genClock))
	if err != nil {
		return err
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	return writeGenOutputs(cmd, f.force, genOutput{path: f.output, data: data, mode: secrets.FileMode})
}
