package trustd

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/security"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// Service implements security.SecurityServiceServer: it signs the API
// certificates of joining nodes that present the machine token.
type Service struct {
	security.UnimplementedSecurityServiceServer

	ca    func() (*pki.CertAndKey, error)
	token func() (string, error)
	log   *slog.Logger
}

// NewService returns a Service that signs with the CA returned by ca and
// accepts the token returned by token; both are asked at every request, so
// that a renewed CA or token applies at once.
func NewService(ca func() (*pki.CertAndKey, error), token func() (string, error), log *slog.Logger) *Service {
	return &Service{ca: ca, token: token, log: log}
}

// Certificate checks the machine token in the "token" metadata and signs
// the request's CSR. The certificate keeps the CSR's CommonName and IP and
// DNS alternative names, but its Organization is always
// constants.RoleImpersonator, whatever the CSR asks for: a joining node
// gets a node's certificate, never a role.
func (s *Service) Certificate(ctx context.Context, req *security.CertificateRequest) (*security.CertificateResponse, error) {
	if err := s.checkToken(ctx); err != nil {
		return nil, err
	}
	csr, err := pki.ParseCSRPEM(req.GetCsr())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "csr: %v", err)
	}
	subject, err := nodeSubject(csr)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "csr: %v", err)
	}
	caPEM, err := s.ca()
	if err != nil {
		s.log.Error("OS CA unavailable", "error", err)
		return nil, status.Error(codes.Unavailable, "the OS CA is not available on this node")
	}
	ca, err := pki.ParseCA(caPEM)
	if err != nil {
		s.log.Error("OS CA invalid", "error", err)
		return nil, status.Error(codes.Unavailable, "the OS CA is not available on this node")
	}
	crt, err := ca.IssueForKey(csr.PublicKey, pki.CertOptions{
		Subject:  subject,
		Usage:    pki.UsagePeer,
		Validity: constants.APICertValidity,
	})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "sign certificate: %v", err)
	}
	s.log.Info("issued node certificate", "common_name", subject.CommonName,
		"ips", subject.IPs, "dns_names", subject.DNSNames, "requested_organization", csr.Subject.Organization, "peer", peerAddr(ctx))
	return &security.CertificateResponse{Ca: caPEM.Crt, Crt: crt}, nil
}

// checkToken returns nil if the call carries the machine token, a
// PermissionDenied status otherwise. The comparison is of SHA-256 digests
// in constant time, so neither content nor length leaks through timing.
func (s *Service) checkToken(ctx context.Context) error {
	want, err := s.token()
	if err != nil || want == "" {
		s.log.Error("machine token unavailable", "error", err)
		return status.Error(codes.Unavailable, "the machine token is not configured on this node")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(constants.TokenMetadataKey)
	if len(got) != 1 {
		s.log.Warn("certificate request without token", "peer", peerAddr(ctx))
		return status.Errorf(codes.PermissionDenied, "the %q metadata must hold the machine token", constants.TokenMetadataKey)
	}
	g, w := sha256.Sum256([]byte(got[0])), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		s.log.Warn("certificate request with wrong token", "peer", peerAddr(ctx))
		return status.Error(codes.PermissionDenied, "invalid machine token")
	}
	return nil
}

// nodeSubject is the subject of the certificate issued for csr.
func nodeSubject(csr *x509.CertificateRequest) (pki.Subject, error) {
	subject := pki.Subject{
		CommonName:   csr.Subject.CommonName,
		Organization: []string{constants.RoleImpersonator},
		DNSNames:     csr.DNSNames,
	}
	for _, ip := range csr.IPAddresses {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return pki.Subject{}, fmt.Errorf("invalid IP address %v", ip)
		}
		subject.IPs = append(subject.IPs, addr.Unmap())
	}
	return subject, nil
}

// peerAddr returns the caller's address for logs.
func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
