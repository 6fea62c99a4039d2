package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ContainerCreate creates a container named name and returns its id.
func (c *Client) ContainerCreate(ctx context.Context, name string, spec ContainerSpec) (string, error) {
	var out struct {
		ID       string `json:"Id"`
		Warnings []string
	}
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/containers/create", query: q, body: spec}, &out)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	return out.ID, nil
}

// ContainerStart starts a created container.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	if err := c.call(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/start"}, nil); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// ContainerInspect describes a container.
func (c *Client) ContainerInspect(ctx context.Context, id string) (*ContainerJSON, error) {
	var out ContainerJSON
	if err := c.call(ctx, request{method: http.MethodGet, path: "/containers/" + id + "/json"}, &out); err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return &out, nil
}

// ContainerWait waits until the container stops and returns its exit code.
func (c *Client) ContainerWait(ctx context.Context, id string) (int, error) {
	var out struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	q := url.Values{"condition": {"not-running"}}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/containers/" + id + "/wait", query: q}, &out); err != nil {
		return 0, fmt.Errorf("wait for container %s: %w", id, err)
	}
	if out.Error != nil && out.Error.Message != "" {
		return out.StatusCode, fmt.Errorf("wait for container %s: %s", id, out.Error.Message)
	}
	return out.StatusCode, nil
}

// ContainerRemove removes a container, killing it if it runs, with its
// anonymous volumes. A missing container is not an error.
func (c *Client) ContainerRemove(ctx context.Context, id string) error {
	q := url.Values{"force": {"1"}, "v": {"1"}}
	err := c.call(ctx, request{method: http.MethodDelete, path: "/containers/" + id, query: q}, nil)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// ContainerList lists containers, stopped ones included, that carry every
// label filter ("key" or "key=value").
func (c *Client) ContainerList(ctx context.Context, labels ...string) ([]ContainerSummary, error) {
	q := labelFilters(labels...)
	q.Set("all", "1")
	var out []ContainerSummary
	if err := c.call(ctx, request{method: http.MethodGet, path: "/containers/json", query: q}, &out); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return out, nil
}

// ContainerLogs returns the container's output (stdout and stderr
// interleaved), the last tail lines of it when tail > 0.
func (c *Client) ContainerLogs(ctx context.Context, id string, tail int) ([]byte, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}}
	if tail > 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/containers/" + id + "/logs", query: q})
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer resp.Body.Close()
	out, err := demux(resp.Body, resp.Header.Get("Content-Type"))
	if err != nil {
		return out, fmt.Errorf("logs of container %s: %w", id, err)
	}
	return out, nil
}
