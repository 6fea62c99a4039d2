// Package maintenance serves the API of a node that has no machine config
// yet: TLS with a self-signed certificate and no client certificates,
// limited to what is needed to receive a config.
//
//	Start ──▶ serving (Version, ApplyConfiguration, ResourceService Get/List
//	          of non-sensitive types; everything else PermissionDenied)
//	      ──Stop──▶ stopped: listener closed, port free for apid
package maintenance

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// certValidity is how long the self-signed certificate is valid.
const certValidity = 365 * 24 * time.Hour

// stopGrace is how long Stop lets running calls finish (the apply that
// ends maintenance mode, above all) before it cuts them.
const stopGrace = 5 * time.Second

// Allowed lists the methods served in maintenance mode.
var Allowed = map[string]bool{
	machine.MachineService_Version_FullMethodName:            true,
	machine.MachineService_ApplyConfiguration_FullMethodName: true,
	resource.ResourceService_Get_FullMethodName:              true,
	resource.ResourceService_List_FullMethodName:             true,
}

// DeniedMessage is the error of every other method.
const DeniedMessage = "not available in maintenance mode: apply a machine config first"

// Options configure the maintenance server.
type Options struct {
	// Listen is the address, e.g. ":50000".
	Listen string
	// Addresses are the node's addresses, put in the certificate.
	Addresses func() ([]netip.Addr, error)
	Machine   *server.Machine
	Resources *server.Resources
	// Console receives the line that tells the user how to connect.
	Console io.Writer
	Logger  *slog.Logger
}

// Server is a running maintenance server.
type Server struct {
	grpc        *grpc.Server
	lis         net.Listener
	fingerprint string
	done        chan struct{}
}

// Start generates the certificate, listens and serves.
func Start(opts Options) (*Server, error) {
	logger := opts.Logger.With("component", "maintenance")
	cert, fp, err := certificate(opts.Addresses)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("maintenance: listen on %s: %w", opts.Listen, err)
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	s := &Server{
		grpc: grpc.NewServer(grpc.Creds(creds),
			grpc.ChainUnaryInterceptor(unaryGate), grpc.ChainStreamInterceptor(streamGate)),
		lis: lis, fingerprint: fp, done: make(chan struct{}),
	}
	server.Register(s.grpc, opts.Machine, opts.Resources)
	go func() {
		defer close(s.done)
		if err := s.grpc.Serve(lis); err != nil {
			logger.Error("maintenance server failed", "error", err)
		}
	}()
	logger.Info("maintenance mode: waiting for a machine config", "address", lis.Addr().String(), "fingerprint", fp)
	if opts.Console != nil {
		shown := opts.Listen
		if _, port, err := net.SplitHostPort(shown); err != nil || port == "0" {
			shown = lis.Addr().String()
		}
		fmt.Fprintf(opts.Console, "maintenance mode: waiting for a machine config on %s; certificate fingerprint SHA256 %s\n",
			shown, fp)
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Fingerprint is the SHA-256 fingerprint of the server's certificate.
func (s *Server) Fingerprint() string { return s.fingerprint }

// Stop lets running calls finish for a short while, then closes
// everything. When it returns the port is free.
func (s *Server) Stop() {
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		s.grpc.Stop()
		<-stopped
	}
	<-s.done
}

// certificate makes the self-signed certificate for the node's addresses
// and localhost.
func certificate(addresses func() ([]netip.Addr, error)) (tls.Certificate, string, error) {
	subject := pki.Subject{CommonName: "maintenance", DNSNames: []string{"localhost"},
		IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}}
	if addresses != nil {
		addrs, err := addresses()
		if err != nil {
			return tls.Certificate{}, "", fmt.Errorf("maintenance: node addresses: %w", err)
		}
		for _, a := range addrs {
			if !a.IsLoopback() {
				subject.IPs = append(subject.IPs, a)
			}
		}
	}
	ck, err := pki.NewSelfSigned(pki.CertOptions{Subject: subject, Usage: pki.UsageServer, Validity: certValidity})
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("maintenance: %w", err)
	}
	cert, err := tls.X509KeyPair(ck.Crt, ck.Key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("maintenance: %w", err)
	}
	fp, err := pki.Fingerprint(ck.Crt)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("maintenance: %w", err)
	}
	return cert, fp, nil
}

func unaryGate(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if !Allowed[info.FullMethod] {
		return nil, status.Error(codes.PermissionDenied, DeniedMessage)
	}
	return h(server.WithMaintenance(ctx), req)
}

func streamGate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if !Allowed[info.FullMethod] {
		return status.Error(codes.PermissionDenied, DeniedMessage)
	}
	return h(srv, &maintenanceStream{ServerStream: ss})
}

// maintenanceStream marks a stream's context as a maintenance call.
type maintenanceStream struct {
	grpc.ServerStream
}

func (s *maintenanceStream) Context() context.Context {
	return server.WithMaintenance(s.ServerStream.Context())
}
