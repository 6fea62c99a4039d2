package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// inTempDir runs the test in a fresh working directory.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// mustRun runs plinthctl and fails the test on error.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("plinthctl %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// assertFile checks that path exists with mode and returns its content.
func assertFile(t *testing.T, path string, mode os.FileMode) []byte {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestGenSecrets(t *testing.T) {
	inTempDir(t)
	if out := mustRun(t, "gen", "secrets"); out != "wrote secrets.yaml\n" {
		t.Errorf("output = %q", out)
	}
	first := assertFile(t, "secrets.yaml", 0o600)
	if _, err := secrets.Load("secrets.yaml"); err != nil {
		t.Fatalf("written bundle does not load: %v", err)
	}

	_, _, err := runCLI(t, "gen", "secrets")
	if err == nil || err.Error() != "secrets.yaml already exists; use --force to overwrite it" {
		t.Fatalf("second run error = %v", err)
	}
	if again := assertFile(t, "secrets.yaml", 0o600); !bytes.Equal(first, again) {
		t.Error("refused run changed the file")
	}

	mustRun(t, "gen", "secrets", "--force")
	if forced := assertFile(t, "secrets.yaml", 0o600); bytes.Equal(first, forced) {
		t.Error("--force did not replace the bundle")
	}

	out := mustRun(t, "gen", "secrets", "-o", filepath.Join("sub", "dir", "s.yaml"))
	if want := "wrote " + filepath.Join("sub", "dir", "s.yaml") + "\n"; out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
	if _, err := secrets.Load(filepath.Join("sub", "dir", "s.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestGenCA(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantKey func(any) bool
	}{
		{"default ECDSA", nil, func(k any) bool { _, ok := k.(*ecdsa.PublicKey); return ok }},
		{"Ed25519", []string{"--ed25519"}, func(k any) bool { _, ok := k.(ed25519.PublicKey); return ok }},
		{"RSA", []string{"--rsa"}, func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 4096 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			args := append([]string{"gen", "ca", "--organization", "acme", "--hours", "48", "--output-dir", "pki"}, tt.args...)
			out := mustRun(t, args...)
			crtPath, keyPath := filepath.Join("pki", "acme.crt"), filepath.Join("pki", "acme.key")
			if want := "wrote " + crtPath + "\nwrote " + keyPath + "\n"; out != want {
				t.Errorf("output = %q, want %q", out, want)
			}
			ck := &pki.CertAndKey{Crt: assertFile(t, crtPath, 0o644), Key: assertFile(t, keyPath, 0o600)}
			ca, err := pki.ParseCA(ck)
			if err != nil {
				t.Fatalf("written CA: %v", err)
			}
			if !tt.wantKey(ca.Cert.PublicKey) {
				t.Errorf("CA key is %T", ca.Cert.PublicKey)
			}
			if !slices.Equal(ca.Cert.Subject.Organization, []string{"acme"}) {
				t.Errorf("organization = %v", ca.Cert.Subject.Organization)
			}
			if d := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); d < 48*time.Hour || d > 49*time.Hour {
				t.Errorf("validity = %v, want 48h plus the backdating", d)
			}
		})
	}
}

func TestGenKeypair(t *testing.T) {
	inTempDir(t)
	mustRun(t, "gen", "keypair", "--organization", "node-1", "--ip", "10.5.0.2,fd00::2", "--dns", "node-1.local", "--ed25519")
	crt, key := assertFile(t, "node-1.crt", 0o644), assertFile(t, "node-1.key", 0o600)
	if err := pki.KeyMatchesCert(crt, key); err != nil {
		t.Fatal(err)
	}
	c, _ := pki.ParseCertPEM(crt)
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if c.IsCA || len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("10.5.0.2")) || !slices.Equal(c.DNSNames, []string{"node-1.local"}) {
		t.Errorf("certificate: CA=%v IPs=%v DNS=%v", c.IsCA, c.IPAddresses, c.DNSNames)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("extended key usage = %v", c.ExtKeyUsage)
	}
}

// TestGenKeyCSRCrt walks the flow of giving a user a client certificate.
func TestGenKeyCSRCrt(t *testing.T) {
	inTempDir(t)
	mustRun(t, "gen", "ca", "--organization", "os", "--ed25519")
	if out := mustRun(t, "gen", "key", "--name", "alice", "--ed25519"); out != "wrote alice.key\n" {
		t.Errorf("gen key output = %q", out)
	}
	key := assertFile(t, "alice.key", 0o600)
	out := mustRun(t, "gen", "csr", "--key", "alice.key", "--roles", "os:reader,os:etcd:backup", "--ip", "10.0.0.9", "--dns", "alice.example")
	if out != "wrote alice.csr\n" {
		t.Errorf("gen csr output = %q", out)
	}
	csr, err := pki.ParseCSRPEM(assertFile(t, "alice.csr", 0o644))
	if err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != "alice" {
		t.Errorf("CSR common name = %q, want the key's name", csr.Subject.CommonName)
	}
	if out := mustRun(t, "gen", "crt", "--ca", "os", "--csr", "alice.csr", "--name", "alice", "--hours", "2"); out != "wrote alice.crt\n" {
		t.Errorf("gen crt output = %q", out)
	}
	crt := assertFile(t, "alice.crt", 0o644)
	if err := pki.KeyMatchesCert(crt, key); err != nil {
		t.Fatal(err)
	}
	c, _ := pki.ParseCertPEM(crt)
	ca, _ := pki.ParseCertPEM(assertFile(t, "os.crt", 0o644))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: c.NotBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate does not verify against the CA: %v", err)
	}
	org := slices.Sorted(slices.Values(c.Subject.Organization))
	if !slices.Equal(org, []string{"os:etcd:backup", "os:reader"}) || !slices.Equal(c.DNSNames, []string{"alice.example"}) || len(c.IPAddresses) != 1 {
		t.Errorf("certificate: O=%v DNS=%v IPs=%v", org, c.DNSNames, c.IPAddresses)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d < 2*time.Hour || d > 3*time.Hour {
		t.Errorf("validity = %v, want about 2h", d)
	}

	// --ca also accepts the certificate's own path.
	mustRun(t, "gen", "crt", "--ca", "os.crt", "--csr", "alice.csr", "--name", "alice2")
}

func TestGenErrors(t *testing.T) {
	inTempDir(t)
	mustRun(t, "gen", "ca", "--organization", "ca")
	mustRun(t, "gen", "key", "--name", "k")
	mustRun(t, "gen", "csr", "--key", "k.key")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"ca without organization", []string{"gen", "ca"}, `required flag(s) "organization" not set`},
		{"ca both key types", []string{"gen", "ca", "--organization", "x", "--rsa", "--ed25519"}, "none of the others can be"},
		{"ca exists", []string{"gen", "ca", "--organization", "ca"}, "ca.crt already exists; use --force to overwrite it"},
		{"ca zero hours", []string{"gen", "ca", "--organization", "y", "--hours", "0"}, "--hours must be positive, got 0"},
		{"ca path as name", []string{"gen", "ca", "--organization", "../evil"}, `"../evil" cannot be used as a file name`},
		{"keypair bad ip", []string{"gen", "keypair", "--organization", "n", "--ip", "10.0.0.300"}, `--ip "10.0.0.300": not an IP address`},
		{"key exists", []string{"gen", "key", "--name", "k"}, "k.key already exists"},
		{"csr unknown role", []string{"gen", "csr", "--key", "k.key", "--roles", "os:root", "--force"}, `--roles: unknown role "os:root"`},
		{"csr missing key", []string{"gen", "csr", "--key", "nope.key"}, "--key: open nope.key"},
		{"csr key is a cert", []string{"gen", "csr", "--key", "ca.crt", "--output-dir", "o"}, `PEM block is "CERTIFICATE", want "PRIVATE KEY"`},
		{"crt csr is a key", []string{"gen", "crt", "--ca", "ca", "--csr", "k.key", "--name", "x"}, `--csr k.key: sign CSR: parse certificate request: PEM block is "PRIVATE KEY"`},
		{"crt missing ca", []string{"gen", "crt", "--ca", "nope", "--csr", "k.csr", "--name", "x"}, "--ca: open nope.crt"},
		{"crt no name", []string{"gen", "crt", "--ca", "ca", "--csr", "k.csr"}, `required flag(s) "name" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listDir(t, ".")
			_, _, err := runCLI(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if after := listDir(t, "."); !slices.Equal(before, after) {
				t.Errorf("a failed command changed the directory: %v -> %v", before, after)
			}
		})
	}
}

func TestGenCrtRejectsNonCA(t *testing.T) {
	inTempDir(t)
	mustRun(t, "gen", "keypair", "--organization", "leaf")
	mustRun(t, "gen", "key", "--name", "k")
	mustRun(t, "gen", "csr", "--key", "k.key")
	_, _, err := runCLI(t, "gen", "crt", "--ca", "leaf", "--csr", "k.csr", "--name", "x")
	if err == nil || !strings.Contains(err.Error(), `certificate "leaf" is not a CA`) {
		t.Fatalf("error = %v", err)
	}
}

func TestGenSubcommandsExtend(t *testing.T) {
	saved := genSubcommands
	t.Cleanup(func() { genSubcommands = saved })
	genSubcommands = append(slices.Clip(genSubcommands), func(*globalFlags) *cobra.Command {
		return &cobra.Command{Use: "extra", RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Println("extra ran")
			return nil
		}}
	})
	if out := mustRun(t, "gen", "extra"); out != "extra ran\n" {
		t.Errorf("output = %q", out)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
