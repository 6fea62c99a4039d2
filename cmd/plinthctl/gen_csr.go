package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// genCSRFlags are the flags of `gen csr`.
type genCSRFlags struct {
	keyPath    string
	commonName string
	ips        []string
	dnsNames   []string
	roles      []string
	out        genOutputFlags
}

// newGenCSRCmd builds `plinthctl gen csr`.
func newGenCSRCmd(_ *globalFlags) *cobra.Command {
	f := &genCSRFlags{}
	cmd := &cobra.Command{
		Use:   "csr",
		Short: "Generate a certificate signing request for a key: NAME.csr",
		Long: `Generate a certificate signing request for the key in --key, naming the
roles (the certificate's organizations), IP addresses and DNS names wanted.
The request is written to the output directory, named after the key file
with .csr instead of .key; sign it with 'plinthctl gen crt'.`,
		Example: `  plinthctl gen key --name alice --ed25519
  plinthctl gen csr --key alice.key --roles os:operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	cmd.Flags().StringVar(&f.keyPath, "key", "", "private key (PEM) the request is for")
	_ = cmd.MarkFlagRequired("key") // the flag exists
	cmd.Flags().StringVar(&f.commonName, "common-name", "", "common name of the subject (default: the key's file name without .key)")
	cmd.Flags().StringSliceVar(&f.ips, "ip", nil, "IP address the certificate is for; repeatable")
	cmd.Flags().StringSliceVar(&f.dnsNames, "dns", nil, "DNS name the certificate is for; repeatable")
	cmd.Flags().StringSliceVar(&f.roles, "roles", []string{string(role.Admin)}, "roles of the certificate: "+roleList())
	f.out.add(cmd)
	return cmd
}

// run does the work of `gen csr`.
func (f *genCSRFlags) run(cmd *cobra.Command) error {
	name := strings.TrimSuffix(filepath.Base(f.keyPath), ".key")
	path, err := f.out.path(name, ".csr")
	if err != nil {
		return err
	}
	roles, err := role.Parse(f.roles)
	if err != nil {
		return fmt.Errorf("--roles: %w", err)
	}
	ips, err := genParseIPs(f.ips)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(f.keyPath)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return fmt.Errorf("--key %s: %w", f.keyPath, err)
	}
	cn := f.commonName
	if cn == "" {
		cn = name
	}
	csr, err := pki.NewCSR(key, pki.Subject{CommonName: cn, Organization: roles.Strings(), IPs: ips, DNSNames: f.dnsNames})
	if err != nil {
		return err
	}
	return writeGenOutputs(cmd, f.out.force, genOutput{path: path, data: csr, mode: genModePublic})
}

// roleList lists the known roles for help texts.
func roleList() string {
	names := make([]string, len(role.All))
	for i, r := range role.All {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
