package k8s

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// Lifetimes of the certificates PKIController issues.
const (
	// CertValidity is how long a control-plane certificate is valid.
	CertValidity = 365 * 24 * time.Hour
	// CertRenewBefore is how early before expiry it is renewed.
	CertRenewBefore = 30 * 24 * time.Hour
)

// leaf is one certificate of the control plane: which field of the spec
// holds it, who issues it and for whom.
type leaf struct {
	name  string
	field func(*k8s.CertificatesSpec) *k8s.CertAndKey
	usage pki.Usage
	// aggregator: issued by cluster.aggregatorCA instead of cluster.ca.
	aggregator bool
	// sans: the certificate carries the plan's SANs, re-issued when they change.
	sans    bool
	subject pki.Subject
}

// leaves are every certificate of a control plane.
var leaves = []leaf{
	{
		name: "apiserver", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.APIServer },
		usage: pki.UsageServer, sans: true, subject: pki.Subject{CommonName: "kube-apiserver"},
	},
	{
		name: "apiserver-kubelet-client", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.APIServerKubeletClient },
		usage: pki.UsageClient, subject: pki.Subject{CommonName: KubeletClientUser},
	},
	{
		name: "front-proxy-client", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.FrontProxyClient },
		usage: pki.UsageClient, aggregator: true, subject: pki.Subject{CommonName: FrontProxyClientUser},
	},
	{
		name: "controller-manager", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.ControllerManager },
		usage: pki.UsageClient, subject: pki.Subject{CommonName: ControllerManagerUser},
	},
	{
		name: "scheduler", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.Scheduler },
		usage: pki.UsageClient, subject: pki.Subject{CommonName: SchedulerUser},
	},
	{
		name: "admin", field: func(s *k8s.CertificatesSpec) *k8s.CertAndKey { return &s.Admin },
		usage: pki.UsageClient, subject: pki.Subject{CommonName: AdminUser, Organization: []string{MastersGroup}},
	},
}

// issuer returns the CA that issues l.
func (p pkiPlan) issuer(l leaf) *pki.CA {
	if l.aggregator {
		return p.aggregator
	}

	return p.ca
}

// leafSubject returns l's subject with the plan's SANs when it carries them.
func (p pkiPlan) leafSubject(l leaf) pki.Subject {
	s := l.subject
	if !l.sans {
		return s
	}

	s.DNSNames = slices.Clone(p.dnsNames)
	for _, ip := range p.ips {
		s.IPs = append(s.IPs, netip.MustParseAddr(ip))
	}

	return s
}

// leafReason says why l must be issued again, or "" when cur is fine.
func leafReason(cur *k8s.CertAndKey, ca *pki.CA, sansChanged bool, now time.Time) string {
	if cur.Crt == "" || cur.Key == "" {
		return "no certificate"
	}

	crt, err := pki.ParseCertPEM([]byte(cur.Crt))
	if err != nil {
		return "unreadable certificate"
	}

	switch {
	case crt.CheckSignatureFrom(ca.Cert) != nil:
		return "CA changed"
	case sansChanged:
		return "subject alternative names changed"
	case !now.Before(renewAt(cur.NotBefore, cur.NotAfter)):
		return "renewal due"
	}

	return ""
}

// renewAt is CertRenewBefore before expiry, or two thirds into the lifetime
// of a certificate too short for that.
func renewAt(notBefore, notAfter time.Time) time.Time {
	return notAfter.Add(-min(CertRenewBefore, notAfter.Sub(notBefore)/3))
}

// issueLeaf issues l for the plan.
func issueLeaf(p pkiPlan, l leaf, now func() time.Time) (k8s.CertAndKey, error) {
	ck, err := p.issuer(l).Issue(pki.CertOptions{
		Subject: p.leafSubject(l), Usage: l.usage, Validity: CertValidity, Now: now,
	})
	if err != nil {
		return k8s.CertAndKey{}, fmt.Errorf("%s certificate: %w", l.name, err)
	}

	crt, err := pki.ParseCertPEM(ck.Crt)
	if err != nil {
		return k8s.CertAndKey{}, fmt.Errorf("%s certificate: %w", l.name, err)
	}

	return k8s.CertAndKey{
		Crt: string(ck.Crt), Key: string(ck.Key),
		NotBefore: crt.NotBefore.UTC(), NotAfter: crt.NotAfter.UTC(),
	}, nil
}

// reissue returns the control plane's spec for the plan: cur's
// certificates where they are still good, new ones elsewhere, and why each
// new one was issued ("apiserver: renewal due").
func reissue(cur k8s.CertificatesSpec, p pkiPlan, now func() time.Time) (k8s.CertificatesSpec, []string, error) {
	next := cur
	next.CA, next.AggregatorCA = p.caPEM, p.aggregatorPEM

	sansChanged := !slices.Equal(cur.IPs, p.ips) || !slices.Equal(cur.DNSNames, p.dnsNames)
	next.IPs, next.DNSNames = slices.Clone(p.ips), slices.Clone(p.dnsNames)

	var reasons []string

	for _, l := range leaves {
		field := l.field(&next)

		reason := leafReason(field, p.issuer(l), l.sans && sansChanged, now())
		if reason == "" {
			continue
		}

		issued, err := issueLeaf(p, l, now)
		if err != nil {
			return cur, nil, err
		}

		*field = issued

		reasons = append(reasons, l.name+": "+reason)
	}

	return next, reasons, nil
}

// nextRenewal is the earliest renewal time of the spec's certificates.
func nextRenewal(s *k8s.CertificatesSpec) time.Time {
	var at time.Time

	for _, l := range leaves {
		f := l.field(s)
		if f.Crt == "" {
			continue
		}

		if t := renewAt(f.NotBefore, f.NotAfter); at.IsZero() || t.Before(at) {
			at = t
		}
	}

	return at
}
