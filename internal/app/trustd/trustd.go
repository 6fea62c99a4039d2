// Package trustd signs the API certificates of nodes joining a cluster. It
// runs on control-plane nodes, serves SecurityService on :50001 over TLS
// with the node's API certificate (no client certificate: a joining node
// has none yet) and authenticates callers by the machine token.
//
// A certificate from trustd is a node's certificate: server and client
// usage, Organization os:impersonator. It lets the node serve apid and
// proxy calls to other nodes; it never grants a role.
package trustd

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/plinth-os/plinth/api/security"
	"github.com/plinth-os/plinth/internal/app/apid/certs"
	"github.com/plinth-os/plinth/internal/app/apid/serve"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// Files trustd reads under <Root>/system/secrets by default.
const (
	// CAFileName is the OS CA certificate machined writes on control planes.
	CAFileName = "os-ca.crt"
	// CAKeyFileName is the OS CA key machined writes on control planes.
	CAKeyFileName = "os-ca.key"
	// TokenFileName holds the machine token (trustd's --token-file default).
	TokenFileName = "trustd.token"
)

// Limits of the server.
const (
	// maxRequest bounds a request: a CSR is well under a kilobyte.
	maxRequest = 64 << 10
	// gracePeriod is how long calls in flight may finish at stop.
	gracePeriod = 5 * time.Second
)

// Options configure Run. Zero fields take the defaults documented on each.
type Options struct {
	// Root is the directory node paths are resolved under (default "/").
	Root string
	// ListenAddr is the TCP address to serve on (default ":50001").
	ListenAddr string
	// Listener, if set, is served instead of listening on ListenAddr.
	Listener net.Listener
	// CertDir holds the node's API certificate (ca.crt, server.crt,
	// server.key), which trustd serves (default <Root>/system/secrets/api).
	CertDir string
	// CA returns the OS CA with its key. If nil, CAFile and CAKeyFile are
	// read at every request.
	CA func() (*pki.CertAndKey, error)
	// CAFile and CAKeyFile are the PEM OS CA certificate and key (default
	// <Root>/system/secrets/os-ca.crt and os-ca.key).
	CAFile, CAKeyFile string
	// Token is the machine token. If empty, TokenFile is read at every
	// request (default <Root>/system/secrets/trustd.token).
	Token string
	// TokenFile holds the machine token (surrounding spaces ignored).
	TokenFile string
	// Logger receives trustd's logs (default: text on stderr).
	Logger *slog.Logger
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = "/"
	}
	secrets := filepath.Join(o.Root, constants.SystemSecretsDir)
	if o.ListenAddr == "" {
		o.ListenAddr = fmt.Sprintf(":%d", constants.TrustdPort)
	}
	if o.CertDir == "" {
		o.CertDir = filepath.Join(secrets, "api")
	}
	if o.CAFile == "" {
		o.CAFile = filepath.Join(secrets, CAFileName)
	}
	if o.CAKeyFile == "" {
		o.CAKeyFile = filepath.Join(secrets, CAKeyFileName)
	}
	if o.TokenFile == "" {
		o.TokenFile = filepath.Join(secrets, TokenFileName)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return o
}

// caFunc returns where the CA comes from.
func (o Options) caFunc() func() (*pki.CertAndKey, error) {
	if o.CA != nil {
		return o.CA
	}
	return func() (*pki.CertAndKey, error) {
		crt, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("OS CA: %w", err)
		}
		key, err := os.ReadFile(o.CAKeyFile)
		if err != nil {
			return nil, fmt.Errorf("OS CA key: %w", err)
		}
		return &pki.CertAndKey{Crt: crt, Key: key}, nil
	}
}

// tokenFunc returns where the token comes from.
func (o Options) tokenFunc() func() (string, error) {
	if o.Token != "" {
		return func() (string, error) { return o.Token, nil }
	}
	return func() (string, error) {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("machine token: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", errors.New("machine token: " + o.TokenFile + " is empty")
		}
		return t, nil
	}
}

// Run serves SecurityService until ctx is done. It fails at once if the
// node's certificate cannot be loaded or the address cannot be listened
// on; a missing CA or token only fails requests (with Unavailable), so
// trustd may start before machined has written them.
func Run(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "trustd")
	store, err := certs.Load(opts.CertDir, log)
	if err != nil {
		return fmt.Errorf("trustd: %w", err)
	}
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", opts.ListenAddr); err != nil {
			return fmt.Errorf("trustd: %w", err)
		}
	}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(store.ServerConfig(tls.NoClientCert))),
		grpc.MaxRecvMsgSize(maxRequest),
	)
	security.RegisterSecurityServiceServer(srv, NewService(opts.caFunc(), opts.tokenFunc(), log))
	log.Info("serving", "addr", lis.Addr().String())
	if err := serve.Serve(ctx, srv, lis, gracePeriod); err != nil {
		return fmt.Errorf("trustd: %w", err)
	}
	log.Info("stopped")
	return nil
}

// Main runs trustd with command-line args (without the program name) until
// SIGINT or SIGTERM, and returns the process exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet("trustd", flag.ContinueOnError)
	var opts Options
	fs.StringVar(&opts.Root, "root", "/", "directory node paths are resolved under")
	fs.StringVar(&opts.ListenAddr, "listen", fmt.Sprintf(":%d", constants.TrustdPort), "TCP address to serve on")
	fs.StringVar(&opts.TokenFile, "token-file", "", "file holding the machine token (default <root>"+constants.SystemSecretsDir+"/"+TokenFileName+")")
	return serve.Main(fs, args, func(ctx context.Context) error { return Run(ctx, opts) }, os.Stderr)
}
