package kubeconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func admin(cluster, server, ca string) *Config {
	return NewAdmin(cluster, server, []byte(ca), []byte("cert of "+cluster), []byte("key of "+cluster))
}

func TestRoundTrip(t *testing.T) {
	b, err := admin("demo", "https://10.5.0.2:6443", "CA").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"current-context: admin@demo", "certificate-authority-data: Q0E=", "server: https://10.5.0.2:6443"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, b)
		}
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := c.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cl.Server != "https://10.5.0.2:6443" || string(cl.CertificateAuthorityData) != "CA" || string(u.ClientKeyData) != "key of demo" {
		t.Errorf("parsed back: %+v %+v", cl, u)
	}
	c.SetServer("https://127.0.0.1:32768")
	if cl, _, _ := c.Current(); cl.Server != "https://127.0.0.1:32768" {
		t.Errorf("SetServer: %s", cl.Server)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse([]byte("kind: Pod\n")); err == nil || !strings.Contains(err.Error(), `kind is "Pod"`) {
		t.Errorf("Parse(Pod) = %v", err)
	}
	if _, err := Parse([]byte("users: [{name: x, user: {client-key-data: '%%%'}}]\n")); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("Parse(bad base64) = %v", err)
	}
	c, _ := Parse([]byte("apiVersion: v1\n"))
	if _, _, err := c.Current(); err != ErrNoContext {
		t.Errorf("Current() = %v, want ErrNoContext", err)
	}
	c.CurrentContext = "nope"
	if _, _, err := c.Current(); err == nil || !strings.Contains(err.Error(), `"nope" is not defined`) {
		t.Errorf("Current() = %v", err)
	}
}

// existing is a user's kubeconfig with things plinthctl does not know.
const existing = `# my clusters
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
    extensions:
    - name: x
      extension: {a: b}
contexts:
- name: prod
  context: {cluster: prod, user: me}
current-context: prod
users:
- name: me
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: get-token
`

func TestMergeKeepsTheRest(t *testing.T) {
	out, res, err := Merge([]byte(existing), admin("demo", "https://127.0.0.1:1", "CA1"), false)
	if err != nil {
		t.Fatal(err)
	}
	if res != (MergeResult{Context: "admin@demo"}) {
		t.Errorf("result %+v", res)
	}
	s := string(out)
	for _, want := range []string{"# my clusters", "colors: true", "command: get-token", "extension:", "name: admin@demo", "current-context: admin@demo"} {
		if !strings.Contains(s, want) {
			t.Errorf("merged kubeconfig lacks %q:\n%s", want, s)
		}
	}
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clusters) != 2 || len(c.Users) != 2 || len(c.Contexts) != 2 {
		t.Errorf("merged: %d clusters, %d users, %d contexts", len(c.Clusters), len(c.Users), len(c.Contexts))
	}
	kubectlView(t, out)
}

func TestMergeConflicts(t *testing.T) {
	first, _, err := Merge(nil, admin("demo", "https://127.0.0.1:1", "CA1"), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		add   *Config
		force bool
		want  MergeResult
		count int
	}{
		{"same cluster: fresh credentials replace", admin("demo", "https://127.0.0.1:2", "CA1"), false, MergeResult{Context: "admin@demo", Replaced: true}, 1},
		{"another cluster of that name: renamed", admin("demo", "https://127.0.0.1:2", "CA2"), false, MergeResult{Context: "admin@demo-1", Renamed: true}, 2},
		{"another cluster, forced: replaced", admin("demo", "https://127.0.0.1:2", "CA2"), true, MergeResult{Context: "admin@demo", Replaced: true}, 1},
		{"other name: added", admin("other", "https://127.0.0.1:2", "CA2"), false, MergeResult{Context: "admin@other"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, res, err := Merge(first, tt.add, tt.force)
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Errorf("result %+v, want %+v", res, tt.want)
			}
			c, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Contexts) != tt.count || len(c.Clusters) != tt.count || len(c.Users) != tt.count {
				t.Errorf("%d contexts, %d clusters, %d users; want %d each:\n%s", len(c.Contexts), len(c.Clusters), len(c.Users), tt.count, out)
			}
			cl, _, err := c.Current()
			if err != nil || cl.Server != "https://127.0.0.1:2" || c.CurrentContext != tt.want.Context {
				t.Errorf("current %s: %+v, %v", c.CurrentContext, cl, err)
			}
		})
	}
	// Merging twice more of another cluster takes the next free suffix.
	second, _, _ := Merge(first, admin("demo", "https://127.0.0.1:2", "CA2"), false)
	_, res, _ := Merge(second, admin("demo", "https://127.0.0.1:3", "CA3"), false)
	if res.Context != "admin@demo-2" {
		t.Errorf("third cluster named demo: context %s, want admin@demo-2", res.Context)
	}
}

func TestRemove(t *testing.T) {
	merged, _, err := Merge([]byte(existing), admin("demo", "https://127.0.0.1:1", "CA1"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, removed, _ := Remove(merged, "admin@demo", []byte("CA2")); removed {
		t.Error("removed the context of a cluster with another CA")
	}
	if _, removed, _ := Remove(merged, "admin@nope", []byte("CA1")); removed {
		t.Error("removed a context that does not exist")
	}
	out, removed, err := Remove(merged, "admin@demo", []byte("CA1"))
	if err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Contexts) != 1 || len(c.Clusters) != 1 || len(c.Users) != 1 || c.CurrentContext != "" {
		t.Errorf("after Remove:\n%s", out)
	}
	if !strings.Contains(string(out), "command: get-token") {
		t.Errorf("Remove dropped the rest:\n%s", out)
	}
}

func TestMergeRejectsNonKubeconfigs(t *testing.T) {
	for _, in := range []string{"- a\n- b\n", "clusters: 3\n", ": ["} {
		if _, _, err := Merge([]byte(in), admin("demo", "https://x", "CA"), false); err == nil {
			t.Errorf("Merge(%q) succeeded", in)
		}
	}
	if out, _, err := Merge([]byte("~\n"), admin("demo", "https://x", "CA"), false); err != nil || !strings.Contains(string(out), "admin@demo") {
		t.Errorf("Merge(null) = %s, %v", out, err)
	}
}

// kubectlView checks that the real kubectl reads the config, when it is
// installed.
func kubectlView(t *testing.T, data []byte) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: not checked with it")
		return
	}
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "--kubeconfig", p, "config", "get-contexts", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl config get-contexts: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "admin@demo") || !strings.Contains(string(out), "prod") {
		t.Errorf("kubectl sees contexts:\n%s", out)
	}
}
