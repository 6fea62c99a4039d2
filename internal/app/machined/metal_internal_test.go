package machined

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/app/machined/power"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"golang.org/x/sys/unix"
)

// newMetal returns a metal-mode machined under a temporary root, with the
// metal system given instead of opened (tests are not PID 1).
func newMetal(t *testing.T, args string) *machined {
	t.Helper()
	root := t.TempDir()
	m, err := newMachined(withDefaults(Options{
		Root: root, Mode: validation.ModeMetal, Logger: slog.New(slog.DiscardHandler), Console: &bytes.Buffer{},
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.exit)
	if _, ok := m.power.(power.Refuse); !ok {
		t.Fatalf("metal power outside PID 1 is %T, want power.Refuse", m.power)
	}
	m.metal = &metalSystem{cmdline: cmdline.Parse(args)}
	if err := os.MkdirAll(m.path(constants.StateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	return m
}

func workerConfig(t *testing.T) []byte {
	t.Helper()
	bundle, err := secrets.NewBundle()
	if err != nil {
		t.Fatal(err)
	}
	in := generate.Input{ClusterName: "demo", Endpoint: "https://127.0.0.1:6443", Secrets: bundle}
	cfg, err := in.Config(v1alpha1.TypeWorker)
	if err != nil {
		t.Fatal(err)
	}
	data, err := cfg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestFetchConfigFromKernelArgument(t *testing.T) {
	data := workerConfig(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	m := newMetal(t, "quiet plinth.config="+srv.URL+"/worker.yaml")
	b := m.fetchConfig(context.Background())
	if b == nil || !bytes.Equal(b.raw, data) {
		t.Fatalf("fetchConfig = %v", b)
	}
	stored, err := m.store.Load()
	if err != nil || !bytes.Equal(stored, data) {
		t.Fatalf("stored config %q, %v", stored, err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestFetchConfigFallsBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("machine: {type: nope}\n"))
	}))
	defer srv.Close()
	for _, args := range []string{"quiet", "plinth.config=ftp://x/y", "plinth.config=" + srv.URL} {
		m := newMetal(t, args)
		if b := m.fetchConfig(context.Background()); b != nil {
			t.Errorf("%q: fetchConfig returned a config", args)
		}
		if raw, _ := m.store.Load(); raw != nil {
			t.Errorf("%q: a config was stored", args)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	// Outside PID 1 there is no metal system: nothing is fetched.
	m := newMetal(t, "plinth.config="+srv.URL)
	m.metal = nil
	if b := m.fetchConfig(context.Background()); b != nil {
		t.Fatal("fetched without a metal system")
	}
}

func TestWipeState(t *testing.T) {
	m := newMetal(t, "")
	for _, f := range []string{"machine-id", "config.yaml"} {
		if err := os.WriteFile(filepath.Join(m.path(constants.StateDir), f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.wipeState(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(m.path(constants.StateDir))
	if err != nil || len(entries) != 0 {
		t.Fatalf("STATE after wipe: %v, %v", entries, err)
	}
	seq := m.resetSequence(server.ResetOptions{Reboot: true})
	names := make([]string, len(seq.Phases))
	for i, p := range seq.Phases {
		names[i] = p.Name
	}
	if got := strings.Join(names, " "); got != "status stop-services stop-leftovers remove-config mark-wipe wipe-state power" {
		t.Fatalf("metal reset phases %q", got)
	}
	seq = m.resetSequence(server.ResetOptions{Reboot: true, Graceful: true, WipeEphemeral: true})
	names = names[:0]
	for _, p := range seq.Phases {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "status drain leave-etcd stop-services stop-leftovers remove-config mark-wipe wipe-ephemeral wipe-state power" {
		t.Fatalf("graceful metal reset phases %q", got)
	}
}

func TestConsoleLines(t *testing.T) {
	for _, tt := range []struct {
		ev   *machine.Event
		want string
	}{
		{events.Phase("boot", "config", machine.PhaseEvent_START, nil), "machined: boot: config"},
		{events.Phase("boot", "config", machine.PhaseEvent_STOP, nil), ""},
		{events.Phase("boot", "services", machine.PhaseEvent_STOP, errors.New("boom")), "machined: boot: services: error: boom"},
		{events.Config("loaded"), ""},
	} {
		if got := consoleLine(tt.ev); got != tt.want {
			t.Errorf("consoleLine = %q, want %q", got, tt.want)
		}
	}
}

func TestStopAllSignalsThenWaits(t *testing.T) {
	proc := t.TempDir()
	// A fake /proc with PID 1, kthreadd's child and one user process.
	for pid, stat := range map[string]string{
		"1":   "1 (machined) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 8 0 1 0 0",
		"77":  "77 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0",
		"300": "300 (containerd-shim) S 1 300 300 0 -1 0 0 0 0 0 0 0 0 0 20 0 9 0 1 0 0",
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "stat"), []byte(stat+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var sent []string
	kill := func(pid int, sig unix.Signal) error {
		sent = append(sent, fmt.Sprintf("%d %s", pid, unix.SignalName(sig)))
		return os.RemoveAll(filepath.Join(proc, "300")) // the shim exits on SIGTERM
	}
	n, err := stopAll(context.Background(), proc, time.Second, kill, slog.New(slog.DiscardHandler))
	if err != nil || n != 1 {
		t.Fatalf("stopAll: %d, %v", n, err)
	}
	if strings.Join(sent, ",") != "-1 SIGTERM" {
		t.Fatalf("signals %q: want one SIGTERM to every process, no SIGKILL once they are gone", sent)
	}
	if n, _ := stopAll(context.Background(), proc, time.Second, kill, slog.New(slog.DiscardHandler)); n != 0 || len(sent) != 1 {
		t.Fatalf("nothing left: %d processes, signals %q", n, sent)
	}
}

func TestKubeletNodeName(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write := func(cn string) string {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "kubelet-client-current.pem")
		data := append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := kubeletNodeName(write("system:node:worker-1")); got != "worker-1" {
		t.Fatalf("registered name %q", got)
	}
	if got := kubeletNodeName(write("admin")); got != "" {
		t.Fatalf("a non-node certificate gave %q", got)
	}
	if got := kubeletNodeName(filepath.Join(t.TempDir(), "none.pem")); got != "" {
		t.Fatalf("no certificate gave %q", got)
	}
}
