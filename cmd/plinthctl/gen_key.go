package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// genKeyFlags are the flags of `gen key`.
type genKeyFlags struct {
	name string
	key  genKeyTypeFlags
	out  genOutputFlags
}

// newGenKeyCmd builds `plinthctl gen key`.
func newGenKeyCmd(_ *globalFlags) *cobra.Command {
	f := &genKeyFlags{}
	cmd := &cobra.Command{
		Use:     "key",
		Short:   "Generate a private key: NAME.key (PKCS#8 PEM, mode 0600)",
		Example: `  plinthctl gen key --name admin --ed25519`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVar(&f.name, "name", "", "name of the key file, without .key")
	_ = cmd.MarkFlagRequired("name") // the flag exists
	f.key.add(cmd)
	f.out.add(cmd)
	return cmd
}

// run does the work of `gen key`.
func (f *genKeyFlags) run(cmd *cobra.Command) error {
	path, err := f.out.path(f.name, ".key")
	if err != nil {
		return err
	}
	key, err := pki.GenerateKeyPEM(f.key.keyType())
	if err != nil {
		return err
	}
	return writeGenOutputs(cmd, f.out.force, genOutput{path: path, data: key, mode: genModePrivate})
}
