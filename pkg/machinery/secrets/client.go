package secrets

import (
	"errors"
	"fmt"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// AdminClientCommonName is the CommonName of client certificates made by
// AdminClientCert.
const AdminClientCommonName = "admin"

// AdminClientCert issues an Ed25519 client certificate and key for the
// Plinth API, signed by the OS CA, valid for ttl and carrying roles in its
// Organization. Unknown roles are an error.
func (b *Bundle) AdminClientCert(roles []string, ttl time.Duration, opts ...Option) (*pki.CertAndKey, error) {
	set, err := role.Parse(roles)
	if err != nil {
		return nil, fmt.Errorf("admin client certificate: %w", err)
	}
	if set.Len() == 0 {
		return nil, errors.New("admin client certificate: no roles given")
	}
	ca, err := pki.ParseCA(&b.Certs.OS)
	if err != nil {
		return nil, fmt.Errorf("admin client certificate: OS CA: %w", err)
	}
	o := buildOptions(opts)
	ck, err := ca.Issue(pki.CertOptions{
		Subject:  pki.Subject{CommonName: AdminClientCommonName, Organization: set.Strings()},
		Usage:    pki.UsageClient,
		KeyType:  pki.KeyEd25519,
		Validity: ttl,
		Now:      o.now,
	})
	if err != nil {
		return nil, fmt.Errorf("admin client certificate: %w", err)
	}
	return ck, nil
}
