package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

// configFixture is a temporary directory with a client config and PEM
// files for the config tests.
type configFixture struct {
	dir  string // every path in it shows as $TMP in golden files
	path string // the client config
}

// newConfigFixture writes:
//
//	config       contexts demo (current, valid admin cert), old (expired
//	             reader cert) and staging (endpoints only)
//	ca.pem, crt.pem, key.pem   a valid cert and key (os:admin, os:operator)
//	wrong-key.pem              a key that matches no cert
//	other.yaml   contexts demo (different from ours) and prod; current demo
//	bad.yaml     a config with an unknown field on line 4
func newConfigFixture(t *testing.T) *configFixture {
	t.Helper()
	fx := &configFixture{dir: t.TempDir()}
	fx.path = filepath.Join(fx.dir, "plinth", "config")
	valid := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	crt, key := testCert(t, valid, "os:admin", "os:operator")
	oldCrt, oldKey := testCert(t, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), "os:reader")
	_, wrongKey := testCert(t, valid)
	fx.write(t, "ca.pem", crt)
	fx.write(t, "crt.pem", crt)
	fx.write(t, "key.pem", key)
	fx.write(t, "wrong-key.pem", wrongKey)

	enc := clientconfig.EncodePEM
	cfg := &clientconfig.Config{Context: "demo", Contexts: map[string]*clientconfig.Context{
		"demo": {Endpoints: []string{"10.5.0.2"}, Nodes: []string{"10.5.0.2", "10.5.0.3"},
			CA: enc(crt), Crt: enc(crt), Key: enc(key)},
		"old":     {Endpoints: []string{"10.9.0.2"}, CA: enc(oldCrt), Crt: enc(oldCrt), Key: enc(oldKey)},
		"staging": {Endpoints: []string{"192.168.1.10", "192.168.1.11"}},
	}}
	if err := cfg.Save(fx.path); err != nil {
		t.Fatal(err)
	}
	other := &clientconfig.Config{Context: "demo", Contexts: map[string]*clientconfig.Context{
		"demo": {Endpoints: []string{"172.20.0.2"}},
		"prod": {Endpoints: []string{"10.0.0.1"}, Nodes: []string{"10.0.0.1"}},
	}}
	data, err := other.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	fx.write(t, "other.yaml", data)
	fx.write(t, "bad.yaml", []byte("context: a\ncontexts:\n  a:\n    endpoint: [10.0.0.1]\n"))
	t.Setenv(clientconfig.EnvPath, fx.path)
	return fx
}

func (fx *configFixture) write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// expand replaces $TMP in args with the fixture's directory.
func (fx *configFixture) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$TMP", fx.dir)
	}
	return out
}

// scrub replaces the fixture's directory with $TMP so output is stable.
func (fx *configFixture) scrub(s string) string { return strings.ReplaceAll(s, fx.dir, "$TMP") }

// testCert returns a throwaway self-signed certificate and its key in PEM,
// with Organization orgs and expiry notAfter.
func testCert(t *testing.T, notAfter time.Time, orgs ...string) (crtPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "plinthctl test", Organization: orgs},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// TestConfigCommands runs each command on a fresh fixture. The golden file
// holds what it printed, its error, and for commands that change the config
// the `config contexts` table afterwards. A failed command must leave the
// config file byte for byte as it was.
func TestConfigCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		changes bool // print `config contexts` afterwards
	}{
		{name: "contexts", args: []string{"config", "contexts"}},
		{name: "contexts-override", args: []string{"config", "contexts", "--context", "staging"}},
		{name: "info", args: []string{"config", "info"}},
		{name: "info-expired", args: []string{"config", "info", "--context", "old"}},
		{name: "info-no-cert", args: []string{"config", "info", "--context", "staging"}},
		{name: "info-unknown-context", args: []string{"--context", "nope", "config", "info"}, wantErr: true},
		{name: "context-switch", args: []string{"config", "context", "staging"}, changes: true},
		{name: "context-unknown", args: []string{"config", "context", "nope"}, wantErr: true},
		{name: "endpoint", args: []string{"config", "endpoint", "10.5.0.7,10.5.0.8", "10.5.0.9"}, changes: true},
		{name: "endpoint-no-args", args: []string{"config", "endpoint"}, wantErr: true},
		{name: "endpoint-empty", args: []string{"config", "endpoint", "10.5.0.7,"}, wantErr: true},
		{name: "node-other-context", args: []string{"config", "node", "--context", "staging", "192.168.1.10"}, changes: true},
		{name: "merge", args: []string{"config", "merge", "$TMP/other.yaml"}, changes: true},
		{name: "merge-missing", args: []string{"config", "merge", "$TMP/nope.yaml"}, wantErr: true},
		{name: "merge-bad-yaml", args: []string{"config", "merge", "$TMP/bad.yaml"}, wantErr: true},
		{name: "add", args: []string{"config", "add", "lab", "--ca", "$TMP/ca.pem", "--crt", "$TMP/crt.pem",
			"--key", "$TMP/key.pem", "-e", "10.1.0.2,10.1.0.3", "-n", "10.1.0.2"}, changes: true},
		{name: "add-existing", args: []string{"config", "add", "demo", "--ca", "$TMP/ca.pem", "--crt", "$TMP/crt.pem",
			"--key", "$TMP/key.pem"}, wantErr: true},
		{name: "add-wrong-key", args: []string{"config", "add", "lab", "--ca", "$TMP/ca.pem", "--crt", "$TMP/crt.pem",
			"--key", "$TMP/wrong-key.pem"}, wantErr: true},
		{name: "add-missing-flag", args: []string{"config", "add", "lab", "--ca", "$TMP/ca.pem"}, wantErr: true},
		{name: "add-key-as-ca", args: []string{"config", "add", "lab", "--ca", "$TMP/key.pem", "--crt", "$TMP/crt.pem",
			"--key", "$TMP/key.pem"}, wantErr: true},
		{name: "remove", args: []string{"config", "remove", "staging"}, changes: true},
		{name: "remove-current", args: []string{"config", "remove", "demo"}, wantErr: true},
		{name: "remove-current-force", args: []string{"config", "remove", "demo", "--force"}, changes: true},
		{name: "remove-unknown", args: []string{"config", "remove", "nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newConfigFixture(t)
			before := readFile(t, fx.path)
			stdout, stderr, err := runCLI(t, fx.expand(tt.args)...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("plinthctl %v: error = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
			var got strings.Builder
			got.WriteString(stdout + stderr)
			if err != nil {
				got.WriteString("error: " + err.Error() + "\n")
				if after := readFile(t, fx.path); after != before {
					t.Errorf("failed command changed the config:\n%s", after)
				}
			}
			if tt.changes {
				contexts, _, err := runCLI(t, "config", "contexts")
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString("--- config contexts\n" + contexts)
			}
			golden(t, "config/"+tt.name+".txt", []byte(fx.scrub(got.String())))
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestConfigPathPrecedence checks that --plinthconfig beats $PLINTHCONFIG,
// which beats ~/.plinth/config, and that a missing file is an empty config.
func TestConfigPathPrecedence(t *testing.T) {
	fx := newConfigFixture(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	homeConfig := filepath.Join(home, ".plinth", "config")
	if err := (&clientconfig.Config{Context: "home", Contexts: map[string]*clientconfig.Context{
		"home": {}}}).Save(homeConfig); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env string
		args      []string
		wantName  string // the one context listed
	}{
		{name: "default", wantName: "home"},
		{name: "env", env: filepath.Join(fx.dir, "other.yaml"), wantName: "prod"},
		{name: "flag", env: filepath.Join(fx.dir, "other.yaml"),
			args: []string{"--plinthconfig", homeConfig}, wantName: "home"},
		{name: "missing file", env: filepath.Join(fx.dir, "nope"), wantName: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(clientconfig.EnvPath, tt.env)
			out, _, err := runCLI(t, append([]string{"config", "contexts"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantName != "" && !strings.Contains(out, " "+tt.wantName+" ") {
				t.Errorf("contexts of the chosen config lack %q:\n%s", tt.wantName, out)
			}
			if lines := strings.Count(out, "\n"); tt.wantName == "" && lines != 1 {
				t.Errorf("a missing config should list no contexts:\n%s", out)
			}
		})
	}
}

func TestConfigNoContexts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	_, _, err := runCLI(t, "--plinthconfig", path, "config", "info")
	if err == nil || !strings.Contains(err.Error(), "plinthctl gen config") {
		t.Fatalf("info without contexts: error = %v, want a hint at gen config", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("info created the config file: %v", err)
	}
}
