package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// validYAML returns the YAML of a fresh valid bundle.
func validYAML(t *testing.T) string {
	t.Helper()
	data, err := newTestBundle(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// replaceLine replaces the first line starting with prefix (after
// indentation) by repl, keeping the indentation.
func replaceLine(t *testing.T, doc, prefix, repl string) string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if strings.HasPrefix(trimmed, prefix) {
			lines[i] = l[:len(l)-len(trimmed)] + repl
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line starts with %q", prefix)
	return ""
}

func TestParseErrors(t *testing.T) {
	valid := validYAML(t)
	// Line numbers of the fields in the marshalled form.
	line := func(prefix string) string {
		for i, l := range strings.Split(valid, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " "), prefix) {
				return "line " + strconv.Itoa(i+1) + ": "
			}
		}
		t.Fatalf("no line starts with %q", prefix)
		return ""
	}
	tests := []struct {
		name    string
		in      string
		wantErr []string
	}{
		{"empty", "", []string{"empty document"}},
		{"syntax", "cluster: [\n", []string{"parse secrets bundle: yaml:"}},
		{"two documents", valid + "---\ncluster: {}\n", []string{"want a single YAML document"}},
		{"unknown field", strings.Replace(valid, "machine:\n", "machine:\n  joinToken: abc\n", 1),
			[]string{"field joinToken not found"}},
		{"bad token", replaceLine(t, valid, "bootstrapToken:", "bootstrapToken: abc.def"),
			[]string{line("bootstrapToken:") + "secrets.bootstrapToken: not a token"}},
		{"short secretbox secret", replaceLine(t, valid, "secretboxEncryptionSecret:", "secretboxEncryptionSecret: c2hvcnQ="),
			[]string{line("secretboxEncryptionSecret:") + "secrets.secretboxEncryptionSecret: decodes to 5 bytes, want 32"}},
		{"id not base64", replaceLine(t, valid, "id:", "id: '!!'"),
			[]string{line("id:") + "cluster.id: not standard base64"}},
		{"missing etcd CA", cutSection(valid, "etcd:"), []string{"certs.etcd: missing"}},
		{"two problems", replaceLine(t, replaceLine(t, valid, "trustdToken:", "trustdToken: x"), "secret:", "secret: ''"),
			[]string{"cluster.secret: missing", "machine.trustdToken: not a token"}},
		{"CA cert not base64", replaceLine(t, valid, "crt:", "crt: '???'"), []string{"crt: not base64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

func TestParseFieldErrorsUnwrap(t *testing.T) {
	valid := validYAML(t)
	_, err := Parse([]byte(replaceLine(t, valid, "trustdToken:", "trustdToken: x")))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v holds no *FieldError", err)
	}
	if fe.Field != "machine.trustdToken" || fe.Line == 0 {
		t.Errorf("FieldError = %+v", fe)
	}
	if strings.Contains(err.Error(), "trustdToken: x") {
		t.Error("error quotes the secret value")
	}
}

func TestParseKeyMismatch(t *testing.T) {
	a, b := newTestBundle(t), newTestBundle(t)
	a.Certs.K8s.Key = b.Certs.K8s.Key
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "certs.k8s: parse CA: private key does not match") {
		t.Fatalf("Validate error = %v", err)
	}
	a.Certs.K8s = b.Certs.K8s
	a.Certs.Etcd.Key = nil
	a.Certs.K8sServiceAccount.Crt = a.Certs.OS.Crt
	err := a.Validate()
	for _, want := range []string{"certs.etcd: CA key missing", "certs.k8sServiceAccount: holds a certificate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error = %v, want it to contain %q", err, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) error = %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("cluster: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Load(bad) error = %v", err)
	}
}

// cutSection removes a "  name:" mapping under certs with its lines.
func cutSection(doc, name string) string {
	lines := strings.Split(doc, "\n")
	var out []string
	skipping := false
	for _, l := range lines {
		if l == "  "+name {
			skipping = true
			continue
		}
		if skipping && strings.HasPrefix(l, "    ") {
			continue
		}
		skipping = false
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// FuzzBundleParse checks that parsing never panics and that every accepted
// bundle survives a marshal and parse unchanged.
func FuzzBundleParse(f *testing.F) {
	b, err := NewBundle()
	if err != nil {
		f.Fatal(err)
	}
	valid, err := b.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte("cluster: {id: x}\n"))
	f.Add([]byte("certs:\n  os: {crt: TFMwdA==}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		if !reflect.DeepEqual(back, b) {
			t.Error("bundle changed in a marshal and parse round trip")
		}
	})
}
