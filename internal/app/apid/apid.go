// Package apid is the network-facing API of a Plinth node. It serves every
// RPC of the node's API over mutual TLS on :50000, generically: a call is
// authenticated from the client certificate, checked against the one
// authorization table (package authz) and forwarded without being decoded
// (package proxy) to machined's Unix socket, to another node's apid, or to
// several nodes at once.
//
// Lifecycle of a call:
//
//	TLS handshake (client cert verified against ca.crt)
//	  → authz.Authenticate (roles from the certificate, or from the roles
//	    metadata when the peer is another node's apid)
//	  → authz.Authorize (method × roles, unknown methods denied)
//	  → proxy.Handle (machined | node | nodes fan-out)
package apid

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	// The services apid serves register their descriptors, which tell the
	// proxy the kind of each RPC.
	_ "github.com/plinth-os/plinth/api/machine"
	_ "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/apid/authz"
	"github.com/plinth-os/plinth/internal/app/apid/certs"
	"github.com/plinth-os/plinth/internal/app/apid/proxy"
	"github.com/plinth-os/plinth/internal/app/apid/serve"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// gracePeriod is how long calls in flight may finish when apid stops.
const gracePeriod = 5 * time.Second

// Options configure Run. Zero fields take the defaults documented on each.
type Options struct {
	// Root is the directory node paths are resolved under (default "/").
	Root string
	// ListenAddr is the TCP address to serve on (default ":50000").
	ListenAddr string
	// Listener, if set, is served instead of listening on ListenAddr.
	Listener net.Listener
	// CertDir holds ca.crt, server.crt and server.key (default
	// <Root>/system/secrets/api). The files are reloaded when they change.
	CertDir string
	// MachinedSocket is machined's API socket (default
	// <Root>/system/run/machined/machined.sock).
	MachinedSocket string
	// Logger receives apid's logs (default: text on stderr).
	Logger *slog.Logger
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() (Options, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.ListenAddr == "" {
		o.ListenAddr = fmt.Sprintf(":%d", constants.ApidPort)
	}
	if o.CertDir == "" {
		o.CertDir = filepath.Join(o.Root, constants.SystemSecretsDir, "api")
	}
	if o.MachinedSocket == "" {
		o.MachinedSocket = filepath.Join(o.Root, constants.MachinedSocket)
	}
	sock, err := filepath.Abs(o.MachinedSocket)
	if err != nil {
		return o, fmt.Errorf("machined socket %s: %w", o.MachinedSocket, err)
	}
	o.MachinedSocket = sock
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return o, nil
}

// Run serves the API until ctx is done. It fails at once if the
// certificates cannot be loaded or the address cannot be listened on.
func Run(ctx context.Context, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return fmt.Errorf("apid: %w", err)
	}
	log := opts.Logger.With("component", "apid")
	store, err := certs.Load(opts.CertDir, log)
	if err != nil {
		return fmt.Errorf("apid: %w", err)
	}
	pool, err := proxy.NewPool(opts.MachinedSocket, store.ClientConfig)
	if err != nil {
		return fmt.Errorf("apid: %w", err)
	}
	defer pool.Close() //nolint:errcheck // nothing to do about it at exit

	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", opts.ListenAddr); err != nil {
			return fmt.Errorf("apid: %w", err)
		}
	}
	srv := NewServer(store.ServerConfig(tls.RequireAndVerifyClientCert), pool, log)
	log.Info("serving", "addr", lis.Addr().String(), "machined", opts.MachinedSocket)
	if err := serve.Serve(ctx, srv, lis, gracePeriod); err != nil {
		return fmt.Errorf("apid: %w", err)
	}
	log.Info("stopped")
	return nil
}

// NewServer returns a gRPC server that serves every method over TLS with
// tlsConfig, authorizes it with the authz table and forwards it to
// backends.
func NewServer(tlsConfig *tls.Config, backends proxy.Backends, log *slog.Logger) *grpc.Server {
	h := &handler{proxy: proxy.New(backends, log), log: log}
	return grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsConfig)),
		grpc.ForceServerCodecV2(proxy.Codec{}),
		grpc.UnknownServiceHandler(h.handle),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
}

// handler authenticates, authorizes and forwards every call.
type handler struct {
	proxy *proxy.Proxy
	log   *slog.Logger
}

// handle is the grpc.StreamHandler of every method.
func (h *handler) handle(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	caller, err := authz.Authenticate(ss.Context(), h.log)
	if err != nil {
		h.log.Info("call unauthenticated", "method", method, "error", err)
		return err
	}
	if err := authz.Authorize(method, caller.Roles); err != nil {
		h.log.Info("call denied", "method", method, "subject", caller.Subject,
			"roles", caller.Roles.Strings(), "impersonated", caller.Impersonator)
		return err
	}
	return h.proxy.Handle(ss, proxy.Call{Method: method, Roles: caller.Roles, AllowFanOut: !caller.Impersonator})
}

// Main runs apid with command-line args (without the program name) until
// SIGINT or SIGTERM, and returns the process exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet("apid", flag.ContinueOnError)
	var opts Options
	fs.StringVar(&opts.Root, "root", "/", "directory node paths are resolved under")
	fs.StringVar(&opts.ListenAddr, "listen", fmt.Sprintf(":%d", constants.ApidPort), "TCP address to serve the API on")
	return serve.Main(fs, args, func(ctx context.Context) error { return Run(ctx, opts) }, os.Stderr)
}
