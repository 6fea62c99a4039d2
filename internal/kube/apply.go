package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// ApplyContentType is the content type of a server-side apply patch.
const ApplyContentType = "application/apply-patch+yaml"

// Apply creates or updates obj with server-side apply as FieldManager,
// forcing conflicts: Plinth owns the fields it applies. A namespaced
// object without a namespace goes to "default".
func (c *Client) Apply(ctx context.Context, obj Object) error {
	r, err := c.Resource(ctx, obj.APIVersion(), obj.Kind())
	if err != nil {
		return fmt.Errorf("apply %s: %w", obj, err)
	}

	if r.Namespaced && obj.Namespace() == "" {
		obj.SetNamespace("default")
	}

	path := collectionPath(obj.APIVersion(), r, obj.Namespace()) + "/" + url.PathEscape(obj.Name())

	// JSON is YAML: the apply content type accepts both.
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("apply %s: %w", obj, err)
	}

	q := url.Values{"fieldManager": {FieldManager}, "force": {"true"}}

	if _, err := c.do(ctx, http.MethodPatch, path, q, ApplyContentType, body); err != nil {
		return fmt.Errorf("apply %s: %w", obj, err)
	}

	return nil
}

// applyFirst are kinds applied before the others of a manifest, in this
// order: what the others live in or are made of.
var applyFirst = []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "Role"}

// SortForApply orders objects so that namespaces, custom resource
// definitions, service accounts and roles come first, the rest keeping
// their order.
func SortForApply(objs []Object) []Object {
	out := slices.Clone(objs)

	rank := func(o Object) int {
		if i := slices.Index(applyFirst, o.Kind()); i >= 0 {
			return i
		}

		return len(applyFirst)
	}

	slices.SortStableFunc(out, func(a, b Object) int { return rank(a) - rank(b) })

	return out
}
