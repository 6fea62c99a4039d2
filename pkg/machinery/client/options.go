package client

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

// maxMessageSize bounds one message each way: machine configs and file
// chunks stay far below it.
const maxMessageSize = 32 << 20

// defaultConnectParams keep reconnection quick: a CLI waits for a
// rebooting node by polling, and should see it back within seconds.
var defaultConnectParams = grpc.ConnectParams{
	Backoff: backoff.Config{
		BaseDelay:  250 * time.Millisecond,
		Multiplier: 1.6,
		Jitter:     0.2,
		MaxDelay:   5 * time.Second,
	},
	MinConnectTimeout: 10 * time.Second,
}

// Option configures New.
type Option func(*options)

type options struct {
	context     *clientconfig.Context
	endpoints   []string
	maintenance bool
	fingerprint string
	dialOptions []grpc.DialOption
}

// WithContext uses a client config context: its endpoints (unless
// WithEndpoints overrides them), its CA to verify the nodes and its client
// certificate to authenticate.
func WithContext(c *clientconfig.Context) Option {
	return func(o *options) { o.context = c }
}

// WithEndpoints sets the endpoints to connect to, overriding the context's.
// Each is a host or host:port; the port defaults to constants.ApidPort.
// They are tried in order until one answers.
func WithEndpoints(endpoints ...string) Option {
	return func(o *options) { o.endpoints = append([]string{}, endpoints...) }
}

// WithMaintenance talks to nodes in maintenance mode: TLS without a client
// certificate. Such a node serves a self-signed certificate that no CA can
// vouch for. With a fingerprint (SHA-256 of the certificate, hex with or
// without colons, as the node prints on its console) the client accepts
// only that certificate. With an empty fingerprint it accepts ANY
// certificate: the connection is encrypted but not authenticated, so a
// machine in the middle could read the config sent over it. A context's
// client certificate, if one is given too, is not sent.
func WithMaintenance(fingerprint string) Option {
	return func(o *options) {
		o.maintenance = true
		o.fingerprint = fingerprint
	}
}

// WithDialOptions adds gRPC dial options, applied after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}
