package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// helloImage is the workload's image, built by the test and imported
// into the nodes (they pull nothing).
const helloImage = "plinth.test/hello:v1"

// helloProgram serves "hello from HOSTNAME" on :8080, or with "get URL"
// prints what URL answers: the same static binary is server and client.
const helloProgram = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "get" {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Print(string(b))
		if resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		return
	}
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "hello from %s\n", host) })
	fmt.Println("hello: listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// buildHelloImage compiles helloProgram and writes a FROM-scratch image
// of it as a docker-archive tarball; it returns the tarball's path.
func buildHelloImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.go")
	if err := os.WriteFile(src, []byte(helloProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(prog)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(prog); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint, cfg.Config.Cmd = []string{"/hello"}, []string{"serve"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(helloImage)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello.tar")
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		t.Fatal(err)
	}
	return out
}

// helloManifests are the workload: two replicas, one per node (required
// anti-affinity; the control plane's taint tolerated), never pulled, and
// a ClusterIP Service.
const helloManifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: hello}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: hello
        image: ` + helloImage + `
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: default}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
`

// kubectl runs the real kubectl against the cluster create merged into
// the ctl's kubeconfig.
type kubectl struct {
	bin, kubeconfig string
}

// kubectlOrSkip finds kubectl, or skips.
func kubectlOrSkip(t *testing.T, c ctl) kubectl {
	t.Helper()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the Kubernetes checks need the real client")
	}
	return kubectl{bin: bin, kubeconfig: c.kubeconfig}
}

func (k kubectl) run(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (k kubectl) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := k.run("", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually retries kubectl until its output contains want.
func (k kubectl) eventually(t *testing.T, d time.Duration, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	var out string
	var err error
	for time.Now().Before(deadline) {
		if out, err = k.run("", args...); err == nil && strings.Contains(out, want) {
			return out
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("kubectl %s never printed %q; last output (err %v):\n%s", strings.Join(args, " "), want, err, out)
	return ""
}

// nodeReady is a jsonpath printing "IP Ready-status" per node.
const nodeReady = `jsonpath={range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`

// testKubernetes checks the cluster's Kubernetes with the real kubectl
// and plinthctl: nodes Ready, a locally built image imported and served
// by a Deployment across both nodes, reached by ClusterIP and by DNS from
// the other node, an etcd snapshot, container listings and logs, and a
// refused second bootstrap.
func testKubernetes(t *testing.T, tc *testCluster) {
	k := kubectlOrSkip(t, tc.ctl)
	cp, worker := tc.cp.IP.String(), tc.worker.IP.String()

	t.Run("nodes Ready in kubectl", func(t *testing.T) {
		out := k.must(t, "get", "nodes", "-o", nodeReady)
		for _, ip := range []string{cp, worker} {
			if !strings.Contains(out, ip+" True") {
				t.Errorf("node %s is not Ready:\n%s\n%s", ip, out, k.must(t, "get", "nodes", "-o", "wide"))
			}
		}
	})

	t.Run("workload across nodes by ClusterIP and DNS", func(t *testing.T) {
		archive := buildHelloImage(t)
		out := tc.must(t, "-n", cp+","+worker, "image", "import", archive)
		if strings.Count(out, "imported "+helloImage) != 2 {
			t.Fatalf("image import:\n%s", out)
		}
		tc.eventually(t, helloImage, "-n", worker, "image", "list")
		if out, err := k.run(helloManifests, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := k.run("", "rollout", "status", "deployment/hello", "--timeout", "2m"); err != nil {
			t.Fatalf("rollout: %v\n%s\n%s", err, out, k.must(t, "get", "pods", "-o", "wide"))
		}
		pods := map[string][2]string{} // node IP -> pod name, pod IP
		for _, line := range strings.Split(strings.TrimSpace(k.must(t, "get", "pods", "-l", "app=hello", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.hostIP} {.status.podIP}{"\n"}{end}`)), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 {
				pods[f[1]] = [2]string{f[0], f[2]}
			}
		}
		if len(pods) != 2 || pods[cp][0] == "" || pods[worker][0] == "" {
			t.Fatalf("want one hello pod per node, got %v", pods)
		}
		ip := strings.TrimSpace(k.must(t, "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}"))
		from := pods[worker][0]
		for _, url := range []string{
			"http://" + ip + "/",                      // ClusterIP (kube-proxy)
			"http://hello.default.svc.cluster.local/", // CoreDNS
			"http://hello/",                           // search domains
			"http://" + pods[cp][1] + ":8080/",        // the control plane's pod, across nodes (CNI)
		} {
			k.eventually(t, time.Minute, "hello from hello-", "exec", from, "--", "/hello", "get", url)
		}
		tc.eventually(t, "hello: listening on :8080", "-n", worker, "logs", "-k", "default/"+from+"/hello")
		tc.eventually(t, "default/"+from+"/hello", "-n", worker, "containers", "-k")
	})

	t.Run("etcd snapshot is a bbolt database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "etcd.snapshot")
		out := tc.must(t, "etcd", "snapshot", path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(b) < 4096 || binary.LittleEndian.Uint32(b[16:20]) != 0xED0CDAED {
			t.Fatalf("snapshot of %d bytes is not a bbolt file (magic %x)", len(b), b[16:min(20, len(b))])
		}
		t.Logf("etcd snapshot: %d bytes", len(b))
		if out := tc.must(t, "etcd", "members"); !strings.Contains(out, tc.cp.Name) {
			t.Errorf("etcd members:\n%s", out)
		}
		tc.must(t, "-n", cp, "etcd", "status")
	})

	t.Run("second bootstrap refused", func(t *testing.T) {
		out, err := tc.run("bootstrap")
		if err == nil || !strings.Contains(out, "already bootstrapped") {
			t.Errorf("second bootstrap: %v\n%s", err, out)
		}
	})
}

// testWorkerBackReady waits, after a reboot of the worker that started
// at since, until its kubelet reported the node Ready again (a heartbeat
// after since, so stale status does not count), its hello pod is Ready,
// and that pod's container answers an exec with the Service's answer.
func testWorkerBackReady(t *testing.T, tc *testCluster, since time.Time) {
	k := kubectlOrSkip(t, tc.ctl)
	worker := tc.worker.IP.String()
	since = since.Truncate(time.Second)
	deadline := time.Now().Add(3 * time.Minute)
	var out string
	for {
		o, err := k.run("", "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address} `+
			`{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}`)
		out = o
		if err == nil && readySince(o, worker, since) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s never reported Ready after %s:\n%s", worker, since.Format(time.RFC3339), out)
		}
		time.Sleep(time.Second)
	}
	k.eventually(t, 3*time.Minute, worker+" True", "get", "pods", "-l", "app=hello", "-o",
		`jsonpath={range .items[*]}{.status.hostIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
	pod := ""
	for _, line := range strings.Split(k.must(t, "get", "pods", "-l", "app=hello", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.hostIP}{"\n"}{end}`), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == worker {
			pod = f[0]
		}
	}
	if pod == "" {
		t.Fatalf("no hello pod on %s after the reboot", worker)
	}
	k.eventually(t, time.Minute, "hello from hello-", "exec", pod, "--", "/hello", "get", "http://hello.default.svc.cluster.local/")
}

// readySince reports whether the "IP STATUS TIME" lines say node ip is
// Ready with a time at or after since.
func readySince(lines, ip string, since time.Time) bool {
	for _, line := range strings.Split(lines, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != ip || f[1] != "True" {
			continue
		}
		if at, err := time.Parse(time.RFC3339, f[2]); err == nil && !at.Before(since) {
			return true
		}
	}
	return false
}

// testWorkerJoined waits until the worker's node reports Ready with a
// heartbeat after since: after a reset it joined again (its hello pods
// are not checked: the reset wiped the image it had imported).
func testWorkerJoined(t *testing.T, k kubectl, tc *testCluster, since time.Time) {
	t.Helper()
	worker := tc.worker.IP.String()
	since = since.Truncate(time.Second)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		o, err := k.run("", "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address} `+
			`{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}`)
		if err == nil && readySince(o, worker, since) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s never reported Ready again after %s:\n%s", worker, since.Format(time.RFC3339), o)
		}
		time.Sleep(time.Second)
	}
}
