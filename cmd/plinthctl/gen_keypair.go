package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// genKeypairFlags are the flags of `gen keypair`.
type genKeypairFlags struct {
	organization string
	ips          []string
	dnsNames     []string
	hours        genHoursFlag
	key          genKeyTypeFlags
	out          genOutputFlags
}

// newGenKeypairCmd builds `plinthctl gen keypair`.
func newGenKeypairCmd(_ *globalFlags) *cobra.Command {
	f := &genKeypairFlags{}
	cmd := &cobra.Command{
		Use:   "keypair",
		Short: "Generate a self-signed server and client certificate: NAME.crt and NAME.key",
		Long: `Generate a key and a self-signed certificate for it, valid for TLS servers and
clients, with the given IP addresses and DNS names. Files are named after the
organization.`,
		Example: `  plinthctl gen keypair --organization node-1 --ip 10.5.0.2`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVar(&f.organization, "organization", "", "organization of the certificate; also names the files")
	_ = cmd.MarkFlagRequired("organization") // the flag exists
	cmd.Flags().StringSliceVar(&f.ips, "ip", nil, "IP address the certificate is for; repeatable")
	cmd.Flags().StringSliceVar(&f.dnsNames, "dns", nil, "DNS name the certificate is for; repeatable")
	f.hours.add(cmd, 87600, "certificate")
	f.key.add(cmd)
	f.out.add(cmd)
	return cmd
}

// run does the work of `gen keypair`.
func (f *genKeypairFlags) run(cmd *cobra.Command) error {
	crtPath, err := f.out.path(f.organization, ".crt")
	if err != nil {
		return err
	}
	keyPath, _ := f.out.path(f.organization, ".key")
	validity, err := f.hours.validity()
	if err != nil {
		return err
	}
	ips, err := genParseIPs(f.ips)
	if err != nil {
		return err
	}
	ck, err := pki.NewSelfSigned(pki.CertOptions{
		Subject: pki.Subject{
			CommonName:   f.organization,
			Organization: []string{f.organization},
			IPs:          ips,
			DNSNames:     f.dnsNames,
		},
		Usage:    pki.UsagePeer,
		KeyType:  f.key.keyType(),
		Validity: validity,
		Now:      genClock,
	})
	if err != nil {
		return err
	}
	return writeGenOutputs(cmd, f.out.force,
		genOutput{path: crtPath, data: ck.Crt, mode: genModePublic},
		genOutput{path: keyPath, data: ck.Key, mode: genModePrivate})
}
