package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// genCrtFlags are the flags of `gen crt`.
type genCrtFlags struct {
	ca      string
	csrPath string
	name    string
	hours   genHoursFlag
	out     genOutputFlags
}

// newGenCrtCmd builds `plinthctl gen crt`.
func newGenCrtCmd(_ *globalFlags) *cobra.Command {
	f := &genCrtFlags{}
	cmd := &cobra.Command{
		Use:   "crt",
		Short: "Sign a certificate signing request with a CA: NAME.crt",
		Long: `Sign the request in --csr with the CA whose certificate and key are CA.crt
and CA.key. The certificate keeps the request's subject, roles, IP addresses
and DNS names, and is valid for TLS clients and servers.`,
		Example: `  plinthctl gen crt --ca os --csr alice.csr --name alice --hours 24`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVar(&f.ca, "ca", "", "CA to sign with: the path of CA.crt and CA.key without the extension")
	cmd.Flags().StringVar(&f.csrPath, "csr", "", "certificate signing request (PEM) to sign")
	cmd.Flags().StringVar(&f.name, "name", "", "name of the certificate file, without .crt")
	for _, name := range []string{"ca", "csr", "name"} {
		_ = cmd.MarkFlagRequired(name) // the flags exist
	}
	f.hours.add(cmd, 24, "certificate")
	f.out.add(cmd)
	return cmd
}

// run does the work of `gen crt`.
func (f *genCrtFlags) run(cmd *cobra.Command) error {
	path, err := f.out.path(f.name, ".crt")
	if err != nil {
		return err
	}
	validity, err := f.hours.validity()
	if err != nil {
		return err
	}
	ca, err := loadCA(f.ca)
	if err != nil {
		return err
	}
	csr, err := os.ReadFile(f.csrPath)
	if err != nil {
		return fmt.Errorf("--csr: %w", err)
	}
	crt, err := ca.SignCSR(csr, pki.SignOptions{Usage: pki.UsagePeer, Validity: validity, Now: genClock})
	if err != nil {
		return fmt.Errorf("--csr %s: %w", f.csrPath, err)
	}
	return writeGenOutputs(cmd, f.out.force, genOutput{path: path, data: crt, mode: genModePublic})
}

// loadCA reads PREFIX.crt and PREFIX.key; PREFIX may also be given with
// either extension.
func loadCA(prefix string) (*pki.CA, error) {
	prefix = strings.TrimSuffix(strings.TrimSuffix(prefix, ".crt"), ".key")
	var ck pki.CertAndKey
	var err error
	if ck.Crt, err = os.ReadFile(prefix + ".crt"); err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	if ck.Key, err = os.ReadFile(prefix + ".key"); err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	ca, err := pki.ParseCA(&ck)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w", prefix, err)
	}
	return ca, nil
}
