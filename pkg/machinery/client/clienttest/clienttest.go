// Package clienttest runs fake Plinth nodes for tests of API clients: a
// gRPC server with real TLS on a loopback port, whose certificates come
// from a throwaway OS CA, serving whatever fake services the test
// registers. A Node can be stopped and restarted on the same address to
// play a rebooting machine, or serve a self-signed certificate without
// asking for client certificates, like a node in maintenance mode.
package clienttest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// validity of the certificates tests issue.
const validity = 24 * time.Hour

// PKI is a throwaway cluster secrets bundle with a node certificate and an
// admin client certificate, both signed by its OS CA.
type PKI struct {
	// Bundle holds the OS CA and its key.
	Bundle *secrets.Bundle
	// Server is the node's API certificate (127.0.0.1, ::1, localhost).
	Server *pki.CertAndKey
	// Admin is a client certificate with role os:admin.
	Admin *pki.CertAndKey
}

// NewPKI generates a bundle and issues the node and admin certificates.
func NewPKI() (*PKI, error) {
	b, err := secrets.NewBundle()
	if err != nil {
		return nil, fmt.Errorf("test PKI: %w", err)
	}
	ca, err := pki.ParseCA(&b.Certs.OS)
	if err != nil {
		return nil, fmt.Errorf("test PKI: %w", err)
	}
	server, err := ca.Issue(pki.CertOptions{
		Subject: pki.Subject{
			CommonName: "node",
			IPs:        []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()},
			DNSNames:   []string{"localhost"},
		},
		Usage:    pki.UsageServer,
		Validity: validity,
	})
	if err != nil {
		return nil, fmt.Errorf("test PKI: server certificate: %w", err)
	}
	admin, err := b.AdminClientCert([]string{"os:admin"}, validity)
	if err != nil {
		return nil, fmt.Errorf("test PKI: %w", err)
	}
	return &PKI{Bundle: b, Server: server, Admin: admin}, nil
}

// ClientCert issues a client certificate carrying roles.
func (p *PKI) ClientCert(roles ...string) (*pki.CertAndKey, error) {
	return p.Bundle.AdminClientCert(roles, validity)
}

// Context returns a client config context for endpoints that trusts the OS
// CA and authenticates with cert (the admin certificate when nil).
func (p *PKI) Context(cert *pki.CertAndKey, endpoints ...string) *clientconfig.Context {
	if cert == nil {
		cert = p.Admin
	}
	return &clientconfig.Context{
		Endpoints: endpoints,
		CA:        clientconfig.EncodePEM(p.Bundle.Certs.OS.Crt),
		Crt:       clientconfig.EncodePEM(cert.Crt),
		Key:       clientconfig.EncodePEM(cert.Key),
	}
}

// ServerTLS is the TLS configuration of apid: the node certificate, and
// client certificates required and verified against the OS CA.
func (p *PKI) ServerTLS() (*tls.Config, error) {
	pair, err := tls.X509KeyPair(p.Server.Crt, p.Server.Key)
	if err != nil {
		return nil, fmt.Errorf("server TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.Bundle.Certs.OS.Crt) {
		return nil, fmt.Errorf("server TLS: OS CA is not PEM")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// Node is a fake node: a gRPC server on a loopback port.
//
// Lifecycle: Start serves at once; Stop drops every connection and closes
// the port; Restart serves again on the same address. The test's cleanup
// stops it.
type Node struct {
	// Addr is the node's host:port.
	Addr string

	tls      *tls.Config
	register func(*grpc.Server)

	mu   sync.Mutex
	srv  *grpc.Server
	done chan struct{}
}

// Start serves the services register adds with TLS configuration cfg on
// a free loopback port until the test ends.
func Start(tb testing.TB, cfg *tls.Config, register func(*grpc.Server)) *Node {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("fake node: %v", err)
	}
	n := &Node{Addr: lis.Addr().String(), tls: cfg, register: register}
	n.serve(lis)
	tb.Cleanup(n.Stop)
	return n
}

// StartMaintenance serves like a node in maintenance mode: a fresh
// self-signed certificate and no client certificates asked for. It
// returns the certificate's fingerprint as pki.Fingerprint writes it.
func StartMaintenance(tb testing.TB, register func(*grpc.Server)) (*Node, string) {
	tb.Helper()
	cfg, fp, err := MaintenanceTLS()
	if err != nil {
		tb.Fatalf("maintenance node: %v", err)
	}
	return Start(tb, cfg, register), fp
}

// MaintenanceTLS is the TLS configuration of a node in maintenance mode: a
// fresh self-signed certificate for 127.0.0.1 and no client certificates
// asked for. fingerprint is the certificate's, as pki.Fingerprint writes it.
func MaintenanceTLS() (cfg *tls.Config, fingerprint string, err error) {
	ck, err := pki.NewSelfSigned(pki.CertOptions{
		Subject:  pki.Subject{CommonName: "maintenance", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		Usage:    pki.UsageServer,
		Validity: validity,
	})
	if err != nil {
		return nil, "", fmt.Errorf("maintenance TLS: %w", err)
	}
	pair, err := tls.X509KeyPair(ck.Crt, ck.Key)
	if err != nil {
		return nil, "", fmt.Errorf("maintenance TLS: %w", err)
	}
	if fingerprint, err = pki.Fingerprint(ck.Crt); err != nil {
		return nil, "", fmt.Errorf("maintenance TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, fingerprint, nil
}

func (n *Node) serve(lis net.Listener) {
	n.mu.Lock()
	cfg := n.tls
	n.mu.Unlock()
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	n.register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns when stopped
	}()
	n.mu.Lock()
	n.srv, n.done = srv, done
	n.mu.Unlock()
}

// Stop drops every connection and stops listening, like a node that
// powered off. Stopping a stopped node does nothing.
func (n *Node) Stop() {
	n.mu.Lock()
	srv, done := n.srv, n.done
	n.srv, n.done = nil, nil
	n.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Stop()
	<-done
}

// Restart serves again on the same address after a Stop, like a node that
// booted again.
func (n *Node) Restart() error { return n.RestartWith(nil) }

// RestartWith is Restart with another TLS configuration (nil keeps the
// current one), like a node that was reset and booted into maintenance
// mode.
func (n *Node) RestartWith(cfg *tls.Config) error {
	n.Stop()
	if cfg != nil {
		n.mu.Lock()
		n.tls = cfg
		n.mu.Unlock()
	}
	lis, err := net.Listen("tcp", n.Addr)
	if err != nil {
		return fmt.Errorf("restart fake node on %s: %w", n.Addr, err)
	}
	n.serve(lis)
	return nil
}
