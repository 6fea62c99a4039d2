package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Ping reports whether the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/_ping"})
	if err != nil {
		return fmt.Errorf("no Docker daemon answers on %s: %w", c.host, err)
	}
	resp.Body.Close()
	return nil
}

// Info describes the daemon and its host.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := c.call(ctx, request{method: http.MethodGet, path: "/info"}, &out); err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	return &out, nil
}

// NetworkCreate creates a network and returns its id.
func (c *Client) NetworkCreate(ctx context.Context, spec NetworkSpec) (string, error) {
	var out struct {
		ID string `json:"Id"`
	}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/networks/create", body: spec}, &out); err != nil {
		return "", fmt.Errorf("create network %s: %w", spec.Name, err)
	}
	return out.ID, nil
}

// NetworkRemove removes a network; a missing one is not an error.
func (c *Client) NetworkRemove(ctx context.Context, id string) error {
	err := c.call(ctx, request{method: http.MethodDelete, path: "/networks/" + id}, nil)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", id, err)
	}
	return nil
}

// NetworkList lists the networks carrying every label filter.
func (c *Client) NetworkList(ctx context.Context, labels ...string) ([]NetworkSummary, error) {
	var out []NetworkSummary
	if err := c.call(ctx, request{method: http.MethodGet, path: "/networks", query: labelFilters(labels...)}, &out); err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return out, nil
}

// VolumeCreate creates a named volume.
func (c *Client) VolumeCreate(ctx context.Context, spec VolumeSpec) error {
	if err := c.call(ctx, request{method: http.MethodPost, path: "/volumes/create", body: spec}, nil); err != nil {
		return fmt.Errorf("create volume %s: %w", spec.Name, err)
	}
	return nil
}

// VolumeRemove removes a volume; a missing one is not an error.
func (c *Client) VolumeRemove(ctx context.Context, name string) error {
	q := url.Values{"force": {"1"}}
	err := c.call(ctx, request{method: http.MethodDelete, path: "/volumes/" + name, query: q}, nil)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// VolumeList lists the volumes carrying every label filter.
func (c *Client) VolumeList(ctx context.Context, labels ...string) ([]Volume, error) {
	var out struct{ Volumes []Volume }
	if err := c.call(ctx, request{method: http.MethodGet, path: "/volumes", query: labelFilters(labels...)}, &out); err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return out.Volumes, nil
}

// ImageInspect describes a local image; a missing one is an error for
// which IsNotFound is true.
func (c *Client) ImageInspect(ctx context.Context, ref string) (*ImageInspect, error) {
	var out ImageInspect
	if err := c.call(ctx, request{method: http.MethodGet, path: "/images/" + ref + "/json"}, &out); err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return &out, nil
}

// ImageLoad loads images from a `docker save` tarball and returns the
// daemon's progress lines ("Loaded image: ...").
func (c *Client) ImageLoad(ctx context.Context, tarball io.Reader) ([]string, error) {
	q := url.Values{"quiet": {"1"}}
	resp, err := c.send(ctx, request{method: http.MethodPost, path: "/images/load", query: q,
		body: tarball, contentType: "application/x-tar"})
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	defer resp.Body.Close()
	lines, err := readProgress(resp.Body)
	if err != nil {
		return lines, fmt.Errorf("load image: %w", err)
	}
	return lines, nil
}

// readProgress reads a stream of JSON progress messages and returns their
// text, or the first error message in it.
func readProgress(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Stream      string
			Error       string
			ErrorDetail *struct{ Message string }
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Error != "" {
			return lines, errors.New(m.Error)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			lines = append(lines, s)
		}
	}
	return lines, sc.Err()
}

// ImageRemove removes an image that no tag and no container uses any
// more; an image still in use is left (the error says why).
func (c *Client) ImageRemove(ctx context.Context, id string) error {
	err := c.call(ctx, request{method: http.MethodDelete, path: "/images/" + id}, nil)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", id, err)
	}
	return nil
}
