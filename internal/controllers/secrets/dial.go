package secrets

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// DialTrustd connects to trustd at endpoint ("host:port") over TLS,
// verifying its certificate (chain and host name) against the PEM CA. The
// connection is made lazily, on the first call; ctx is not used.
func DialTrustd(_ context.Context, endpoint string, ca []byte) (grpc.ClientConnInterface, io.Closer, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, nil, errors.New("dial trustd: no CA certificate in machine.ca.crt")
	}

	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13})

	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, nil, fmt.Errorf("dial trustd %s: %w", endpoint, err)
	}

	return conn, conn, nil
}

// TrustdEndpoint returns trustd's address: the host of
// cluster.controlPlane.endpoint and the trustd port.
func TrustdEndpoint(c *v1alpha1.Cluster) (string, error) {
	if c == nil || c.ControlPlane == nil || c.ControlPlane.Endpoint == "" {
		return "", errors.New("cluster.controlPlane.endpoint is not set")
	}

	u, err := url.Parse(c.ControlPlane.Endpoint)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("cluster.controlPlane.endpoint %q is not a URL with a host", c.ControlPlane.Endpoint)
	}

	return net.JoinHostPort(u.Hostname(), strconv.Itoa(constants.TrustdPort)), nil
}
