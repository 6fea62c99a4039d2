package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// genCAFlags are the flags of `gen ca`.
type genCAFlags struct {
	organization string
	hours        genHoursFlag
	key          genKeyTypeFlags
	out          genOutputFlags
}

// newGenCACmd builds `plinthctl gen ca`.
func newGenCACmd(_ *globalFlags) *cobra.Command {
	f := &genCAFlags{}
	cmd := &cobra.Command{
		Use:     "ca",
		Short:   "Generate a self-signed CA: NAME.crt and NAME.key",
		Example: `  plinthctl gen ca --organization plinth --ed25519`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVar(&f.organization, "organization", "", "organization and name of the CA; also names the files")
	_ = cmd.MarkFlagRequired("organization") // the flag exists
	f.hours.add(cmd, 87600, "CA")
	f.key.add(cmd)
	f.out.add(cmd)
	return cmd
}

// run does the work of `gen ca`.
func (f *genCAFlags) run(cmd *cobra.Command) error {
	crtPath, err := f.out.path(f.organization, ".crt")
	if err != nil {
		return err
	}
	keyPath, _ := f.out.path(f.organization, ".key")
	validity, err := f.hours.validity()
	if err != nil {
		return err
	}
	ca, err := pki.NewCA(pki.CAOptions{
		CommonName:   f.organization,
		Organization: []string{f.organization},
		KeyType:      f.key.keyType(),
		Validity:     validity,
		Now:          genClock,
	})
	if err != nil {
		return err
	}
	return writeGenOutputs(cmd, f.out.force,
		genOutput{path: crtPath, data: ca.Crt, mode: genModePublic},
		genOutput{path: keyPath, data: ca.Key, mode: genModePrivate})
}
