package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/app/apid/certs"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func load(t *testing.T, dir string) *certs.Store {
	t.Helper()
	s, err := certs.Load(dir, discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func leafRaw(t *testing.T, s *certs.Store) []byte {
	t.Helper()
	cert, _, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.Raw
}

func TestLoadMissing(t *testing.T) {
	if _, err := certs.Load(t.TempDir(), discard); err == nil {
		t.Fatal("Load of an empty directory succeeded")
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certstest.NewCA(t).WriteNodeDir(t, dir)
	s := load(t, dir)
	first := leafRaw(t, s)
	if !bytes.Equal(leafRaw(t, s), first) {
		t.Fatal("unchanged files gave another certificate")
	}

	// A certificate written before its key does not match it: keep the old.
	ca2 := certstest.NewCA(t)
	next := ca2.NodeCert(t)
	write(t, dir, certs.CertFile, next.Crt)
	if !bytes.Equal(leafRaw(t, s), first) {
		t.Fatal("a certificate without its key replaced the good one")
	}

	write(t, dir, certs.KeyFile, next.Key)
	write(t, dir, certs.CAFile, ca2.PEM.Crt)
	got := leafRaw(t, s)
	if bytes.Equal(got, first) {
		t.Fatal("renewed files were not reloaded")
	}
	cert, pool, _ := s.Current()
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("reloaded certificate does not verify against reloaded CA: %v", err)
	}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestHandshake(t *testing.T) {
	ca := certstest.NewCA(t)
	serverDir, peerDir, foreignDir := t.TempDir(), t.TempDir(), t.TempDir()
	ca.WriteNodeDir(t, serverDir)
	ca.WriteNodeDir(t, peerDir)
	certstest.NewCA(t).WriteNodeDir(t, foreignDir)
	server := load(t, serverDir).ServerConfig(tls.RequireAndVerifyClientCert)

	tests := []struct {
		name       string
		client     *tls.Config
		wantServer bool // server side succeeds
		wantClient bool
	}{
		{name: "peer of the same CA", client: load(t, peerDir).ClientConfig("127.0.0.1"), wantServer: true, wantClient: true},
		{name: "peer by DNS name", client: load(t, peerDir).ClientConfig("localhost"), wantServer: true, wantClient: true},
		{name: "wrong server name", client: load(t, peerDir).ClientConfig("10.0.0.1")},
		{name: "peer of another CA", client: load(t, foreignDir).ClientConfig("127.0.0.1")},
		{name: "no client certificate", client: certstest.ClientConfig(ca)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr, clientErr := handshake(server, tt.client)
			if (serverErr == nil) != tt.wantServer {
				t.Errorf("server handshake error = %v, want success %v", serverErr, tt.wantServer)
			}
			if tt.wantClient && clientErr != nil || !tt.wantClient && clientErr == nil {
				t.Errorf("client handshake error = %v, want success %v", clientErr, tt.wantClient)
			}
		})
	}
}

// handshake runs a TLS handshake over a pipe and returns both sides' errors.
func handshake(server, client *tls.Config) (serverErr, clientErr error) {
	sc, cc := net.Pipe()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server)
		err := s.Handshake()
		sc.Close()
		done <- err
	}()
	c := tls.Client(cc, client)
	clientErr = c.Handshake()
	if clientErr == nil {
		// TLS 1.3 clients learn of a rejected certificate on the next read.
		_, clientErr = c.Read(make([]byte, 1))
		if !isAlert(clientErr) {
			clientErr = nil
		}
	}
	cc.Close()
	return <-done, clientErr
}

// isAlert reports whether err is a TLS alert from the peer.
func isAlert(err error) bool {
	var alert tls.AlertError
	return errors.As(err, &alert) || err != nil && strings.Contains(err.Error(), "remote error")
}
