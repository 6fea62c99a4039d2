package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// APIResource is one resource of an API group version, as discovery
// describes it.
type APIResource struct {
	// Name is the plural resource name used in paths, e.g. deployments.
	Name string `json:"name"`
	// Kind is the kind of its objects, e.g. Deployment.
	Kind string `json:"kind"`
	// Namespaced is true for namespaced objects.
	Namespaced bool `json:"namespaced"`
}

// groupVersionPath is the discovery path of an apiVersion: /api/v1 for the
// core group, /apis/<group>/<version> for the others.
func groupVersionPath(apiVersion string) string {
	if !strings.Contains(apiVersion, "/") {
		return "/api/" + apiVersion
	}

	return "/apis/" + apiVersion
}

// Resources returns the resources of apiVersion, asking the server once and
// then from the cache.
func (c *Client) Resources(ctx context.Context, apiVersion string) ([]APIResource, error) {
	c.mu.Lock()
	cached, ok := c.discovery[apiVersion]
	c.mu.Unlock()

	if ok {
		return cached, nil
	}

	data, err := c.Get(ctx, groupVersionPath(apiVersion))
	if IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, apiVersion)
	}

	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", apiVersion, err)
	}

	var list struct {
		Resources []APIResource `json:"resources"`
	}

	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("discover %s: %w", apiVersion, err)
	}

	out := make([]APIResource, 0, len(list.Resources))

	for _, r := range list.Resources {
		if !strings.Contains(r.Name, "/") { // subresources (pods/log) have no kind of their own
			out = append(out, r)
		}
	}

	c.mu.Lock()
	c.discovery[apiVersion] = out
	c.mu.Unlock()

	return out, nil
}

// Resource finds the resource serving kind in apiVersion. A kind missing
// from the cache is looked up again once (a CRD may have just been
// established) before ErrUnknownKind.
func (c *Client) Resource(ctx context.Context, apiVersion, kind string) (APIResource, error) {
	for attempt := range 2 {
		list, err := c.Resources(ctx, apiVersion)
		if err != nil {
			return APIResource{}, err
		}

		for _, r := range list {
			if r.Kind == kind {
				return r, nil
			}
		}

		if attempt == 0 {
			c.Forget(apiVersion)
		}
	}

	return APIResource{}, fmt.Errorf("%w: %s %s", ErrUnknownKind, apiVersion, kind)
}

// Forget drops the cached discovery of apiVersion ("": of every version).
func (c *Client) Forget(apiVersion string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if apiVersion == "" {
		clear(c.discovery)

		return
	}

	delete(c.discovery, apiVersion)
}

// collectionPath is the path of a resource's collection in a namespace
// (ignored for cluster-scoped resources; "" lists every namespace).
func collectionPath(apiVersion string, r APIResource, namespace string) string {
	p := groupVersionPath(apiVersion)
	if r.Namespaced && namespace != "" {
		p += "/namespaces/" + url.PathEscape(namespace)
	}

	return p + "/" + r.Name
}

// objectPath is the path of one object; a namespaced object without a
// namespace is in "default".
func (c *Client) objectPath(ctx context.Context, apiVersion, kind, namespace, name string) (string, error) {
	r, err := c.Resource(ctx, apiVersion, kind)
	if err != nil {
		return "", err
	}

	if r.Namespaced && namespace == "" {
		namespace = "default"
	}

	return collectionPath(apiVersion, r, namespace) + "/" + url.PathEscape(name), nil
}
