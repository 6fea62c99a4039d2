package etcd

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

// leaf is one of etcd's certificates.
type leaf struct {
	name  string
	field func(*etcd.CertificatesSpec) *etcd.CertAndKey
	usage pki.Usage
	// cn is the common name; members use the hostname.
	cn string
	// sans: the certificate carries the member's names.
	sans bool
}

var leaves = []leaf{
	{name: "server", field: func(s *etcd.CertificatesSpec) *etcd.CertAndKey { return &s.Server }, usage: pki.UsagePeer, sans: true},
	{name: "peer", field: func(s *etcd.CertificatesSpec) *etcd.CertAndKey { return &s.Peer }, usage: pki.UsagePeer, sans: true},
	{
		name: "apiserver-client", field: func(s *etcd.CertificatesSpec) *etcd.CertAndKey { return &s.APIServerClient },
		usage: pki.UsageClient, cn: APIServerClientName,
	},
	{name: "client", field: func(s *etcd.CertificatesSpec) *etcd.CertAndKey { return &s.Client }, usage: pki.UsageClient, cn: ClientName},
}

// reissue returns the spec for the CA and names: cur's certificates where
// they are still good, new ones elsewhere, and why each was issued.
func reissue(cur etcd.CertificatesSpec, ca *pki.CA, caPEM string, ips, names []string, now func() time.Time,
) (etcd.CertificatesSpec, []string, error) {
	next := cur
	next.CA = caPEM

	sansChanged := !slices.Equal(cur.IPs, ips) || !slices.Equal(cur.DNSNames, names)
	next.IPs, next.DNSNames = slices.Clone(ips), slices.Clone(names)

	var reasons []string

	for _, l := range leaves {
		field := l.field(&next)

		reason := leafReason(field, ca, l.sans && sansChanged, now())
		if reason == "" {
			continue
		}

		subject := pki.Subject{CommonName: l.cn}
		if l.sans {
			subject.CommonName = firstOr(names, "etcd")
			subject.DNSNames = slices.Clone(names)

			for _, ip := range ips {
				subject.IPs = append(subject.IPs, netip.MustParseAddr(ip))
			}
		}

		ck, err := ca.Issue(pki.CertOptions{Subject: subject, Usage: l.usage, Validity: CertValidity, Now: now})
		if err != nil {
			return cur, nil, fmt.Errorf("etcd %s certificate: %w", l.name, err)
		}

		crt, err := pki.ParseCertPEM(ck.Crt)
		if err != nil {
			return cur, nil, fmt.Errorf("etcd %s certificate: %w", l.name, err)
		}

		*field = etcd.CertAndKey{
			Crt: string(ck.Crt), Key: string(ck.Key), NotBefore: crt.NotBefore.UTC(), NotAfter: crt.NotAfter.UTC(),
		}

		reasons = append(reasons, l.name+": "+reason)
	}

	return next, reasons, nil
}

// leafReason says why a certificate must be issued again, or "".
func leafReason(cur *etcd.CertAndKey, ca *pki.CA, sansChanged bool, now time.Time) string {
	if cur.Crt == "" || cur.Key == "" {
		return "no certificate"
	}

	crt, err := pki.ParseCertPEM([]byte(cur.Crt))

	switch {
	case err != nil:
		return "unreadable certificate"
	case crt.CheckSignatureFrom(ca.Cert) != nil:
		return "CA changed"
	case sansChanged:
		return "subject alternative names changed"
	case !now.Before(renewAt(*cur)):
		return "renewal due"
	}

	return ""
}

// renewAt is CertRenewBefore before expiry, or two thirds into the lifetime
// of a shorter certificate.
func renewAt(c etcd.CertAndKey) time.Time {
	return c.NotAfter.Add(-min(CertRenewBefore, c.NotAfter.Sub(c.NotBefore)/3))
}

// nextRenewal is the earliest renewal time of the spec's certificates.
func nextRenewal(s *etcd.CertificatesSpec) time.Time {
	var at time.Time

	for _, l := range leaves {
		if t := renewAt(*l.field(s)); at.IsZero() || t.Before(at) {
			at = t
		}
	}

	return at
}

// firstOr returns the first non-"localhost" name, else def.
func firstOr(names []string, def string) string {
	for _, n := range names {
		if n != "localhost" {
			return n
		}
	}

	return def
}
