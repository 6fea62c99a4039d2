// Package secrets holds the controllers of the node's key material: the
// certificates apid and trustd serve.
package secrets

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	"github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
)

// Defaults of APICertsController.
const (
	DefaultRetryInitial    = time.Second
	DefaultRetryMax        = time.Minute
	DefaultRecheckInterval = time.Minute
	DefaultRequestTimeout  = 10 * time.Second
)

// APICertsController keeps the APICertificates resource and the files of
// apid (APICAPath, APICertPath, APIKeyPath) in step with the machine
// config, the hostname and the node addresses.
//
//	no config ──config──▶ waiting for Hostname and NodeAddresses
//	    ▲                        │ both exist
//	    │                        ▼
//	    │ reset    issue ──fails──▶ retry after backoff (1s, 2s, ... RetryMax)
//	    │ (remove    │ ok
//	    │ resource,  ▼
//	    │ files)   issued ──SANs or CA change, renewal due──▶ issue
//	    └──────────────┘
//
// The key is an Ed25519 key made once and kept in the resource across
// re-issues. A control plane signs with the OS CA of machine.ca (role
// os:impersonator, server and client usage) and also writes the OS CA and
// the machine token for trustd (OSCACertPath, OSCAKeyPath,
// TrustdTokenPath). A worker sends a certificate request to trustd on the
// control-plane endpoint; while trustd is unreachable it logs the reason
// and retries with backoff, keeping whatever certificate it had.
//
// It re-issues only when the SANs or the CA changed, or once within
// constants.APICertRenewBefore of expiry. It wakes at least every
// RecheckInterval to check, so a wall-clock jump (NTP at boot) is noticed.
type APICertsController struct {
	// Root is the file-system root the files are written under.
	Root string
	// Now is the clock for issuing and renewal; nil means time.Now.
	Now func() time.Time
	// DialTrustd connects workers to trustd; nil means DialTrustd.
	DialTrustd Dialer
	// RetryInitial and RetryMax bound the backoff between failed issues.
	RetryInitial, RetryMax time.Duration
	// RecheckInterval is the longest sleep between renewal checks.
	RecheckInterval time.Duration
	// RequestTimeout bounds one request to trustd.
	RequestTimeout time.Duration
}

// Name implements runtime.Controller.
func (*APICertsController) Name() string { return "secrets.APICertsController" }

// Inputs implements runtime.Controller.
func (*APICertsController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
	}
}

// Outputs implements runtime.Controller.
func (*APICertsController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: secrets.APICertificatesType}}
}

// Run implements runtime.Controller.
func (c *APICertsController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	c.setDefaults()

	timer := time.NewTimer(time.Hour)
	timer.Stop()

	defer timer.Stop()

	var st runState

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}

		wait, err := c.reconcile(ctx, r, logger, &st)
		if err != nil {
			return err
		}

		timer.Stop()

		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// setDefaults fills the zero fields. Run calls it before anything else.
func (c *APICertsController) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}

	if c.DialTrustd == nil {
		c.DialTrustd = DialTrustd
	}

	c.RetryInitial = cmp.Or(c.RetryInitial, DefaultRetryInitial)
	c.RetryMax = max(cmp.Or(c.RetryMax, DefaultRetryMax), c.RetryInitial)
	c.RecheckInterval = cmp.Or(c.RecheckInterval, DefaultRecheckInterval)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
}

// reconcile brings the resource and files in step and returns how long to
// sleep before the next check (0: until an input changes).
func (c *APICertsController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger, st *runState) (time.Duration, error) {
	in, err := readInputs(ctx, r)
	if err != nil {
		return 0, err
	}

	if in.config == nil {
		*st = runState{}

		return 0, c.teardown(ctx, r, logger)
	}

	if in.host == nil || in.addrs == nil {
		return 0, nil
	}

	p := newPlan(in.config.Machine, *in.host.TypedSpec(), in.addrs.TypedSpec().Addresses)

	spec, wait, err := c.ensure(ctx, r, logger, st, in, p)
	if err != nil {
		return 0, err
	}

	if err := c.writeOutputs(in.controlPlane(), in.config.Machine, spec); err != nil {
		return 0, err
	}

	return wait, nil
}

// teardown removes the resource and every file; the node has no config.
func (c *APICertsController) teardown(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	tr := runtime.NewOutputTracker(r, secrets.NamespaceName, secrets.APICertificatesType)
	if err := tr.Cleanup(ctx); err != nil {
		return fmt.Errorf("api certificates: %w", err)
	}

	existed, err := anyExists(c.Root, allPaths...)
	if err != nil {
		return err
	}

	if err := removeFiles(c.Root, allPaths...); err != nil {
		return err
	}

	if existed {
		logger.Info("api certificates removed")
	}

	return nil
}
