package pki

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"go.yaml.in/yaml/v3"
)

// holder nests a CertAndKey the way the secrets bundle does.
type holder struct {
	CA  CertAndKey  `yaml:"ca"`
	Opt *CertAndKey `yaml:"opt,omitempty"`
}

func TestCertAndKeyYAMLRoundTrip(t *testing.T) {
	ca := newTestCA(t, KeyEd25519)
	tests := []struct {
		name     string
		in       holder
		contains []string
		absent   []string
	}{
		{"both", holder{CA: *ca}, []string{"crt: LS0tLS1CRUdJTi", "key: LS0tLS1CRUdJTi"}, nil},
		{"cert only", holder{CA: CertAndKey{Crt: ca.Crt}}, []string{"crt: LS0t"}, []string{"key:"}},
		{"key only", holder{CA: CertAndKey{Key: ca.Key}, Opt: &CertAndKey{Crt: ca.Crt}}, []string{"key: LS0t", "opt:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := yaml.Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(out), s) {
					t.Errorf("YAML lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(string(out), s) {
					t.Errorf("YAML has %q:\n%s", s, out)
				}
			}
			var back holder
			if err := yaml.Unmarshal(out, &back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			assertHolderEqual(t, back, tt.in)
		})
	}
}

func TestCertAndKeyJSONRoundTrip(t *testing.T) {
	ca := newTestCA(t, KeyECDSAP256)
	out, err := json.Marshal(ca)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"crt":"LS0tLS1CRUdJTi`) {
		t.Errorf("JSON crt is not base64 PEM: %s", out)
	}
	var back CertAndKey
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Crt, ca.Crt) || !bytes.Equal(back.Key, ca.Key) {
		t.Error("JSON round trip changed the certificate or key")
	}
}

func TestCertAndKeyYAMLErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"unknown field", "ca:\n  crt: TFMwdA==\n  cert: TFMwdA==\n", `line 3: unknown field "cert"`},
		{"repeated field", "ca:\n  key: TFMwdA==\n  key: TFMwdA==\n", `line 3: field "key" repeated`},
		{"not base64", "ca:\n  crt: '-----BEGIN'\n", "line 2: crt: not base64"},
		{"list", "ca:\n  crt: [a, b]\n", "line 2: crt: want a base64 string, got a list"},
		{"bool", "ca:\n  key: true\n", `line 2: key: want a base64 string, got "true"`},
		{"scalar instead of mapping", "ca: LS0t\n", "line 1: want a mapping with crt and key, got a scalar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h holder
			err := yaml.Unmarshal([]byte(tt.in), &h)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}

	var h holder
	if err := yaml.Unmarshal([]byte("ca:\n  crt: ~\n  key: ''\n"), &h); err != nil || h.CA.Crt != nil || h.CA.Key != nil {
		t.Errorf("null and empty values: %v, %+v", err, h.CA)
	}
}

func TestCertAndKeyValidate(t *testing.T) {
	ca := newTestCA(t, KeyEd25519)
	other := newTestCA(t, KeyEd25519)
	tests := []struct {
		name    string
		ck      CertAndKey
		wantErr string
	}{
		{"both", *ca, ""},
		{"cert only", CertAndKey{Crt: ca.Crt}, ""},
		{"key only", CertAndKey{Key: ca.Key}, ""},
		{"empty", CertAndKey{}, "neither certificate nor key is set"},
		{"mismatch", CertAndKey{Crt: ca.Crt, Key: other.Key}, "does not match"},
		{"bad cert", CertAndKey{Crt: ca.Key}, "parse certificate"},
		{"bad key", CertAndKey{Key: []byte("x")}, "parse private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ck.Validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestDeterministic checks that a fixed random source and clock give
// byte-identical keys and certificates, which golden tests rely on.
func TestDeterministic(t *testing.T) {
	for _, kt := range []KeyType{KeyECDSAP256, KeyEd25519, KeyRSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			gen := func() []byte {
				cryptotest.SetGlobalRandom(t, 42)
				caCK := newTestCA(t, kt)
				ca, err := ParseCA(caCK)
				if err != nil {
					t.Fatal(err)
				}
				leaf, err := ca.Issue(CertOptions{Subject: Subject{CommonName: "n"}, Usage: UsagePeer, KeyType: kt, Validity: time.Hour, Now: fixedClock})
				if err != nil {
					t.Fatal(err)
				}
				return bytes.Join([][]byte{caCK.Crt, caCK.Key, leaf.Crt, leaf.Key}, nil)
			}
			if a, b := gen(), gen(); !bytes.Equal(a, b) {
				t.Error("same seed and clock gave different output")
			}
		})
	}
}

func assertHolderEqual(t *testing.T, got, want holder) {
	t.Helper()
	if !bytes.Equal(got.CA.Crt, want.CA.Crt) || !bytes.Equal(got.CA.Key, want.CA.Key) {
		t.Error("ca changed in the round trip")
	}
	if (got.Opt == nil) != (want.Opt == nil) {
		t.Fatalf("opt = %v, want %v", got.Opt, want.Opt)
	}
	if got.Opt != nil && (!bytes.Equal(got.Opt.Crt, want.Opt.Crt) || !bytes.Equal(got.Opt.Key, want.Opt.Key)) {
		t.Error("opt changed in the round trip")
	}
}

// FuzzCertAndKeyYAML checks that decoding never panics and that whatever
// decodes encodes back to the same value.
func FuzzCertAndKeyYAML(f *testing.F) {
	f.Add([]byte("ca:\n  crt: TFMwdA==\n  key: TFMwdA==\n"))
	f.Add([]byte("ca:\n  crt: ~\n"))
	f.Add([]byte("ca: {key: '1234'}\nopt: {crt: ''}\n"))
	f.Add([]byte("ca: &a {crt: TFMwdA==}\nopt: *a\n"))
	f.Add([]byte("ca: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h holder
		if err := yaml.Unmarshal(data, &h); err != nil {
			return
		}
		out, err := yaml.Marshal(h)
		if err != nil {
			t.Fatalf("Marshal of decoded value: %v", err)
		}
		var back holder
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		assertHolderEqual(t, back, h)
	})
}
