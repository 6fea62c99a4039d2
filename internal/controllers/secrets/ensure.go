package secrets

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	"github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
)

// allPaths are every file the controller may write, in the order they are
// removed: the file each reader waits for first.
var allPaths = []string{APICertPath, APIKeyPath, APICAPath, OSCACertPath, OSCAKeyPath, TrustdTokenPath}

// runState is what one Run remembers between reconciles.
type runState struct {
	// pendingKey is the key of a certificate not issued yet.
	pendingKey crypto.Signer
	// failures counts consecutive failed issues; retryAt is when the next
	// attempt may be made.
	failures int
	retryAt  time.Time
}

// key returns the key to certify: the stored one, else the pending one,
// else a new Ed25519 key that becomes pending.
func (st *runState) key(cur *secrets.APICertificatesSpec) (crypto.Signer, error) {
	if cur != nil && cur.Key != "" {
		if k, err := pki.ParseKeyPEM([]byte(cur.Key)); err == nil {
			return k, nil
		}
	}

	if st.pendingKey == nil {
		k, err := pki.GenerateKey(pki.KeyEd25519)
		if err != nil {
			return nil, err
		}

		st.pendingKey = k
	}

	return st.pendingKey, nil
}

// fail records a failed issue and returns the backoff before the next one.
func (st *runState) fail(initial, maxDelay time.Duration) time.Duration {
	delay := initial
	for i := 0; i < st.failures && delay < maxDelay; i++ {
		delay *= 2
	}

	delay = min(delay, maxDelay)
	st.failures++
	st.retryAt = time.Now().Add(delay)

	return delay
}

// inputs are the resources one reconcile reads.
type inputs struct {
	config *v1alpha1.MachineConfig // nil without a config
	host   *network.Hostname
	addrs  *network.NodeAddresses
	certs  *secrets.APICertificates
}

func (in inputs) controlPlane() bool {
	return in.config.Machine.Type == v1alpha1.TypeControlPlane
}

func readInputs(ctx context.Context, r runtime.ControllerRuntime) (inputs, error) {
	var (
		in  inputs
		err error
	)

	if in.config, err = read.MachineConfig(ctx, r); err != nil {
		return in, err
	}

	if in.config != nil && in.config.Machine == nil {
		in.config = nil
	}

	if in.host, err = read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref()); err != nil {
		return in, err
	}

	if in.addrs, err = read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref()); err != nil {
		return in, err
	}

	in.certs, err = read.Typed[secrets.APICertificatesSpec](ctx, r, secrets.NewAPICertificates().Metadata().Ref())

	return in, err
}

// ensure issues a certificate when needed and returns the current spec
// (nil while none could be issued) and the sleep before the next check.
func (c *APICertsController) ensure(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger,
	st *runState, in inputs, p plan,
) (*secrets.APICertificatesSpec, time.Duration, error) {
	var cur *secrets.APICertificatesSpec
	if in.certs != nil {
		cur = in.certs.TypedSpec()
	}

	now := c.Now()

	reason := needsIssue(cur, p, now)
	if reason == "" {
		return cur, c.untilRenewal(cur, now), nil
	}

	if wait := time.Until(st.retryAt); wait > 0 {
		return cur, wait, nil // backing off after a failure
	}

	next, err := c.issue(ctx, in, p, cur, st)
	if err != nil {
		delay := st.fail(c.RetryInitial, c.RetryMax)
		logger.Warn("api certificate issue failed", "reason", reason, "error", err, "retry_in", delay)

		return cur, delay, nil
	}

	*st = runState{}

	err = runtime.ModifyTyped(ctx, r, secrets.NewAPICertificates(), func(res *secrets.APICertificates) error {
		*res.TypedSpec() = *next

		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("api certificates: %w", err)
	}

	logger.Info("api certificate issued", "reason", reason, "not_after", next.NotAfter,
		"ips", next.IPs, "dns_names", next.DNSNames)

	return next, c.untilRenewal(next, now), nil
}

// needsIssue says why a new certificate is needed, or "" when cur is fine.
func needsIssue(cur *secrets.APICertificatesSpec, p plan, now time.Time) string {
	switch {
	case cur == nil:
		return "no certificate"
	case cur.CA != p.ca:
		return "OS CA changed"
	case !slices.Equal(cur.IPs, p.ips) || !slices.Equal(cur.DNSNames, p.dnsNames):
		return "subject alternative names changed"
	case !now.Before(renewAt(cur)):
		return "renewal due"
	default:
		return ""
	}
}

// renewAt is constants.APICertRenewBefore before expiry, or two thirds into
// the lifetime of a certificate too short for that.
func renewAt(s *secrets.APICertificatesSpec) time.Time {
	lifetime := s.NotAfter.Sub(s.NotBefore)

	return s.NotAfter.Add(-min(constants.APICertRenewBefore, lifetime/3))
}

func (c *APICertsController) untilRenewal(s *secrets.APICertificatesSpec, now time.Time) time.Duration {
	return min(c.RecheckInterval, max(renewAt(s).Sub(now), c.RetryInitial))
}

// issue gets a certificate for the plan, from the OS CA on a control plane
// and from trustd on a worker.
func (c *APICertsController) issue(ctx context.Context, in inputs, p plan, cur *secrets.APICertificatesSpec,
	st *runState,
) (*secrets.APICertificatesSpec, error) {
	if p.ca == "" {
		return nil, errors.New("machine.ca.crt is not set")
	}

	key, err := st.key(cur)
	if err != nil {
		return nil, err
	}

	var crtPEM []byte

	if in.controlPlane() {
		crtPEM, err = issueLocal(in.config.Machine, key, p, c.Now)
	} else {
		rctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
		crtPEM, err = requestRemote(rctx, c.DialTrustd, in.config, key, p)

		cancel()
	}

	if err != nil {
		return nil, err
	}

	crt, err := checkIssued(crtPEM, key, p.ca)
	if err != nil {
		return nil, err
	}

	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}

	return &secrets.APICertificatesSpec{
		CA: p.ca, Crt: string(crtPEM), Key: string(keyPEM),
		IPs: p.ips, DNSNames: p.dnsNames,
		NotBefore: crt.NotBefore.UTC(), NotAfter: crt.NotAfter.UTC(),
	}, nil
}

// writeOutputs writes apid's files from spec (when there is one) and, on a
// control plane, trustd's; elsewhere it removes trustd's. Each group ends
// with the file its reader waits for.
func (c *APICertsController) writeOutputs(controlPlane bool, m *v1alpha1.Machine, spec *secrets.APICertificatesSpec) error {
	var out []file

	if controlPlane && m.CA != nil && len(m.CA.Key) > 0 && m.Token != "" {
		out = append(out,
			file{Path: TrustdTokenPath, Data: []byte(m.Token), Mode: privateMode},
			file{Path: OSCAKeyPath, Data: m.CA.Key, Mode: privateMode},
			file{Path: OSCACertPath, Data: m.CA.Crt, Mode: publicMode})
	} else if err := removeFiles(c.Root, OSCAKeyPath, OSCACertPath, TrustdTokenPath); err != nil {
		return err
	}

	if spec != nil { // the certificate last: once it exists, all do
		out = append(out,
			file{Path: APICAPath, Data: []byte(spec.CA), Mode: publicMode},
			file{Path: APIKeyPath, Data: []byte(spec.Key), Mode: privateMode},
			file{Path: APICertPath, Data: []byte(spec.Crt), Mode: publicMode})
	}

	return writeFiles(c.Root, out...)
}

// anyExists reports whether any of the files exists under root.
func anyExists(root string, paths ...string) (bool, error) {
	for _, p := range paths {
		_, err := os.Stat(filepath.Join(root, p))
		if err == nil {
			return true, nil
		}

		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("stat %s: %w", p, err)
		}
	}

	return false, nil
}
