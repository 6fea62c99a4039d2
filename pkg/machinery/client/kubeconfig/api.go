package kubeconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// APIClient reads the Kubernetes API as the current context's user: GET
// requests of JSON, enough for health checks, without client-go.
type APIClient struct {
	server string
	http   *http.Client
}

// apiRequestTimeout bounds one request.
const apiRequestTimeout = 10 * time.Second

// APIClient returns a client of the current context's cluster; a
// non-empty server replaces the kubeconfig's (e.g. a port published on
// the host).
func (c *Config) APIClient(server string) (*APIClient, error) {
	cl, u, err := c.Current()
	if err != nil {
		return nil, err
	}
	if server == "" {
		server = cl.Server
	}
	if !strings.HasPrefix(server, "https://") {
		return nil, fmt.Errorf("kubernetes API %q: expected an https URL", server)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cl.TLSServerName}
	if len(cl.CertificateAuthorityData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cl.CertificateAuthorityData) {
			return nil, errors.New("kubeconfig: certificate-authority-data holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	if len(u.ClientCertificateData) > 0 {
		cert, err := tls.X509KeyPair(u.ClientCertificateData, u.ClientKeyData)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 2}
	return &APIClient{server: strings.TrimSuffix(server, "/"), http: &http.Client{Transport: tr, Timeout: apiRequestTimeout}}, nil
}

// Server is the API's URL.
func (a *APIClient) Server() string { return a.server }

// StatusError is a response of the API other than 2xx.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the API's message, or the response's start.
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message) }

// IsNotFound reports whether err is a 404 of the API.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

// Get reads path (such as /api/v1/nodes) and decodes its JSON into out.
func (a *APIClient) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &st) == nil && st.Message != "" {
			msg = st.Message
		}
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return fmt.Errorf("GET %s: %w", path, &StatusError{Code: resp.StatusCode, Message: msg})
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// Close releases idle connections.
func (a *APIClient) Close() { a.http.CloseIdleConnections() }
