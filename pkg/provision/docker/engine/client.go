// Package engine is a small client of the Docker Engine API (version
// 1.41, Docker 20.10 and later) over net/http: just the calls the Docker
// provisioner and the node image builder need, without the Docker module.
//
// The daemon is found the way the docker CLI finds it: $DOCKER_HOST
// (unix:///path or tcp://host:port without TLS), else
// unix:///var/run/docker.sock.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// APIVersion is the Engine API version the client speaks.
const APIVersion = "1.41"

// DefaultHost is the daemon address when $DOCKER_HOST is unset.
const DefaultHost = "unix:///var/run/docker.sock"

// Client talks to one Docker daemon. It is safe for concurrent use.
type Client struct {
	host string
	base string
	http *http.Client
}

// Error is an error answer of the daemon.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the daemon's message.
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("docker: %s (HTTP %d)", e.Message, e.Status) }

// IsNotFound reports whether err is the daemon's "no such ..." answer.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the daemon's "already exists / in use"
// answer.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// FromEnv returns a client for $DOCKER_HOST, or DefaultHost.
func FromEnv() (*Client, error) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = DefaultHost
	}
	return New(host)
}

// New returns a client for host: unix:///path or tcp://host:port.
func New(host string) (*Client, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second}
	c := &Client{host: host, http: &http.Client{Transport: tr}}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			return nil, fmt.Errorf("docker host %q: no socket path", host)
		}
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://docker/v" + APIVersion
	case "tcp", "http":
		if u.Host == "" {
			return nil, fmt.Errorf("docker host %q: no address", host)
		}
		c.base = "http://" + u.Host + "/v" + APIVersion
	default:
		return nil, fmt.Errorf("docker host %q: unsupported scheme %q: use unix:///path/docker.sock or tcp://host:port (TLS is not supported)", host, u.Scheme)
	}
	return c, nil
}

// Host is the daemon address the client was built for.
func (c *Client) Host() string { return c.host }

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	// body is marshalled as JSON unless it is an io.Reader, sent as is.
	body        any
	contentType string
}

// send performs r and returns the response when its status is 2xx; any
// other status becomes an *Error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	contentType := r.contentType
	switch b := r.body.(type) {
	case nil:
	case io.Reader:
		body = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("docker %s %s: encode request: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("docker %s %s: %w", r.method, r.path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker %s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var msg struct{ Message string }
	if json.Unmarshal(data, &msg) != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(data))
	}
	return nil, &Error{Status: resp.StatusCode, Message: msg.Message}
}

// call performs r and decodes a JSON answer into out (nil: discarded).
func (c *Client) call(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("docker %s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// labelFilters encodes label filters ("key=value" or "key") as the API's
// filters query parameter.
func labelFilters(labels ...string) url.Values {
	q := url.Values{}
	if len(labels) == 0 {
		return q
	}
	f := map[string]map[string]bool{"label": {}}
	for _, l := range labels {
		f["label"][l] = true
	}
	data, _ := json.Marshal(f)
	q.Set("filters", string(data))
	return q
}
