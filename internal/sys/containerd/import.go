// Package containerd talks to the node's containerd through its Go client.
// It imports the image archives the node image ships (docker-archive or
// OCI tarballs) into a namespace and unpacks them for the snapshotter CRI
// uses, so pods start without a registry:
//
//	Dial(socket) ──▶ ImportArchive(namespace, file) ──▶ content + image records
//	                                                 ──▶ unpacked (overlayfs)
package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// DefaultSnapshotter is the snapshotter CRI unpacks images for.
const DefaultSnapshotter = "overlayfs"

// dialTimeout bounds the connection to containerd's socket.
const dialTimeout = 10 * time.Second

// Labels CRI reads on images: managed by CRI, and pinned (kubelet's image
// garbage collection never removes a pinned image, so a preloaded image
// stays until a pod needs it).
var criLabels = map[string]string{
	"io.cri-containerd.image":  "managed",
	"io.cri-containerd.pinned": "pinned",
}

// Image is one image an archive held.
type Image struct {
	// Name is the image's reference (registry.k8s.io/pause:3.10).
	Name string
	// Digest is the digest of its manifest or index.
	Digest string
}

// Client is a connection to containerd.
type Client struct {
	c *client.Client
}

// Dial connects to containerd's socket (a host path).
func Dial(socket string) (*Client, error) {
	c, err := client.New(socket, client.WithTimeout(dialTimeout))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", socket, err)
	}
	return &Client{c: c}, nil
}

// Close ends the connection.
func (c *Client) Close() error { return c.c.Close() }

// ImportArchive imports the image archive at path (a host path) into
// namespace, for this machine's platform, labels the images for CRI
// (managed, pinned) and unpacks them into DefaultSnapshotter. Importing
// an archive again is harmless.
func (c *Client) ImportArchive(ctx context.Context, namespace, path string) ([]Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	ctx = namespaces.WithNamespace(ctx, namespace)
	imgs, err := c.c.Import(ctx, f, client.WithImageLabels(criLabels))
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import %s: the archive names no image", path)
	}
	out := make([]Image, 0, len(imgs))
	var errs []error
	for _, img := range imgs {
		if err := client.NewImage(c.c, img).Unpack(ctx, DefaultSnapshotter); err != nil {
			errs = append(errs, fmt.Errorf("unpack %s: %w", img.Name, err))
			continue
		}
		out = append(out, Image{Name: img.Name, Digest: img.Target.Digest.String()})
	}
	return out, errors.Join(errs...)
}

// ImportArchive dials socket, imports the archive at path into namespace
// and closes the connection: one call for each archive.
func ImportArchive(ctx context.Context, socket, namespace, path string) ([]Image, error) {
	c, err := Dial(socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ImportArchive(ctx, namespace, path)
}
