package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// FieldError is a problem with one field of a bundle. Messages never quote
// the secret values themselves.
type FieldError struct {
	// Field is the YAML path of the field, such as "certs.os".
	Field string
	// Line is the field's line in the YAML it was parsed from, or 0.
	Line int
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %v", e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Field, e.Err)
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks that every value of the bundle is well-formed: random
// values have the right length, tokens the bootstrap token form, every CA
// parses, is a CA and holds its own key. It reports every problem found,
// each as a *FieldError.
func (b *Bundle) Validate() error {
	errs := b.fieldErrors()
	if len(errs) == 0 {
		return nil
	}
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

// fieldErrors lists the problems of the bundle in field order.
func (b *Bundle) fieldErrors() []*FieldError {
	var errs []*FieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, &FieldError{Field: field, Err: err})
		}
	}
	check("cluster.id", checkRandom(b.Cluster.ID, 32))
	check("cluster.secret", checkRandom(b.Cluster.Secret, 32))
	check("secrets.bootstrapToken", checkToken(b.Secrets.BootstrapToken))
	check("secrets.secretboxEncryptionSecret", checkRandom(b.Secrets.SecretboxEncryptionSecret, 32))
	check("machine.trustdToken", checkToken(b.Machine.TrustdToken))
	check("certs.os", checkCA(&b.Certs.OS))
	check("certs.k8s", checkCA(&b.Certs.K8s))
	check("certs.k8sAggregator", checkCA(&b.Certs.K8sAggregator))
	check("certs.k8sServiceAccount", checkKeyOnly(&b.Certs.K8sServiceAccount))
	check("certs.etcd", checkCA(&b.Certs.Etcd))
	return errs
}

// checkRandom checks that s is n bytes in standard base64.
func checkRandom(s string, n int) error {
	if s == "" {
		return errors.New("missing")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return errors.New("not standard base64")
	}
	if len(b) != n {
		return fmt.Errorf("decodes to %d bytes, want %d", len(b), n)
	}
	return nil
}

// checkToken checks the bootstrap token form.
func checkToken(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if !ValidToken(s) {
		return errors.New("not a token of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	return nil
}

// checkCA checks that ck is a CA certificate with its key.
func checkCA(ck *pki.CertAndKey) error {
	switch {
	case len(ck.Crt) == 0 && len(ck.Key) == 0:
		return errors.New("missing")
	case len(ck.Key) == 0:
		return errors.New("CA key missing")
	}
	_, err := pki.ParseCA(ck)
	return err
}

// checkKeyOnly checks that ck holds a private key and no certificate.
func checkKeyOnly(ck *pki.CertAndKey) error {
	switch {
	case len(ck.Key) == 0:
		return errors.New("key missing")
	case len(ck.Crt) != 0:
		return errors.New("holds a certificate; only a key is expected")
	}
	_, err := pki.ParseKeyPEM(ck.Key)
	return err
}
