// Package kube is Plinth's own small Kubernetes API client: reads, lists,
// server-side apply and the discovery of resource names, over HTTPS with a
// client certificate. machined uses it to apply the cluster's manifests and
// to wait for the API; client-go would cost the node far more memory and
// size than these few calls need.
package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// FieldManager is the manager of the fields Plinth applies.
const FieldManager = "plinth"

// DefaultTimeout bounds one request.
const DefaultTimeout = 30 * time.Second

// maxBody bounds what is read of one response.
const maxBody = 64 << 20

// Client talks to one Kubernetes API server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client

	mu        sync.Mutex
	discovery map[string][]APIResource // by group/version
}

// Config is how to reach the API server.
type Config struct {
	// Server is the API server's URL, e.g. https://127.0.0.1:6443.
	Server string
	// CA is the PEM CA that verifies the server; required for https.
	CA []byte
	// Cert and Key are the PEM client certificate and key.
	Cert, Key []byte
	// Timeout bounds one request (default DefaultTimeout).
	Timeout time.Duration
	// Transport replaces the HTTP transport (tests); TLS settings are then
	// the transport's.
	Transport http.RoundTripper
}

// New returns a client of the server in cfg.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.Server)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("kube client: server %q is not a URL", cfg.Server)
	}

	transport := cfg.Transport
	if transport == nil {
		tlsConfig, err := clientTLS(cfg)
		if err != nil {
			return nil, err
		}

		transport = &http.Transport{
			TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute,
		}
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	return &Client{
		base:      base,
		http:      &http.Client{Transport: transport, Timeout: timeout},
		discovery: map[string][]APIResource{},
	}, nil
}

func clientTLS(cfg Config) (*tls.Config, error) {
	out := &tls.Config{MinVersion: tls.VersionTLS12}

	if len(cfg.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CA) {
			return nil, errors.New("kube client: no certificate in the CA")
		}

		out.RootCAs = pool
	}

	if len(cfg.Cert) > 0 {
		pair, err := tls.X509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("kube client: client certificate: %w", err)
		}

		out.Certificates = []tls.Certificate{pair}
	}

	return out, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}

// do sends a request to path (with query) and returns the body of a 2xx
// answer; any other answer is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) ([]byte, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}

	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}

	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "plinth")

	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}

	defer resp.Body.Close() //nolint:errcheck // read-only

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}

	if resp.StatusCode/100 != 2 {
		return nil, newAPIError(method, path, resp.StatusCode, data)
	}

	return data, nil
}

// Get returns the JSON at path, e.g. /api/v1/namespaces/kube-system.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, nil, "", nil)
}

// GetObject returns one object.
func (c *Client) GetObject(ctx context.Context, apiVersion, kind, namespace, name string) (Object, error) {
	path, err := c.objectPath(ctx, apiVersion, kind, namespace, name)
	if err != nil {
		return nil, err
	}

	data, err := c.Get(ctx, path)
	if err != nil {
		return nil, err
	}

	var obj Object
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}

	return obj, nil
}

// List returns the items of a kind, in one namespace or ("") all of them,
// optionally filtered by a label selector.
func (c *Client) List(ctx context.Context, apiVersion, kind, namespace, labelSelector string) ([]Object, error) {
	r, err := c.Resource(ctx, apiVersion, kind)
	if err != nil {
		return nil, err
	}

	path := collectionPath(apiVersion, r, namespace)

	q := url.Values{}
	if labelSelector != "" {
		q.Set("labelSelector", labelSelector)
	}

	data, err := c.do(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return nil, err
	}

	var list struct {
		Items []Object `json:"items"`
	}

	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}

	return list.Items, nil
}

// Ready returns nil when the API server's /readyz answers ok.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.Get(ctx, "/readyz")

	return err
}

// Healthy returns nil when the API server's /healthz answers ok.
func (c *Client) Healthy(ctx context.Context) error {
	_, err := c.Get(ctx, "/healthz")

	return err
}

// Do sends a request with a body of contentType (both may be empty) and
// returns the body of a 2xx answer; any other answer is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) ([]byte, error) {
	return c.do(ctx, method, path, query, contentType, body)
}
