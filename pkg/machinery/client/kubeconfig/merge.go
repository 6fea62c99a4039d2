package kubeconfig

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The lists of a kubeconfig that Merge and Remove edit.
const (
	listClusters = "clusters"
	listContexts = "contexts"
	listUsers    = "users"
)

// MergeResult says what Merge did.
type MergeResult struct {
	// Context is the name of the merged context in the result: the
	// added config's, or a renamed one.
	Context string
	// Renamed is true when the added entries took new names because
	// entries of another cluster had theirs.
	Renamed bool
	// Replaced is true when entries of the same names were replaced.
	Replaced bool
}

// Merge adds add's clusters, users and contexts to the kubeconfig existing
// (empty: a new file) and makes add's current context current. Everything
// else in existing is kept, comments and unknown fields included.
//
// Entries of the same names are replaced when they are the same cluster
// (same CA, so fresh credentials replace old ones) or when force is set;
// otherwise add's entries are renamed NAME-1, NAME-2, ... (the first
// suffix free for every one of them).
func Merge(existing []byte, add *Config, force bool) ([]byte, MergeResult, error) {
	doc, root, err := parseTree(existing)
	if err != nil {
		return nil, MergeResult{}, err
	}
	add = add.clone()
	res := MergeResult{Context: add.CurrentContext}
	if conflicts(root, add) {
		if force {
			res.Replaced = true
		} else {
			suffix := freeSuffix(root, add)
			add.rename(suffix)
			res.Context, res.Renamed = add.CurrentContext, true
		}
	} else if present(root, add) {
		res.Replaced = true
	}
	for _, c := range add.Clusters {
		if err := upsert(root, listClusters, c.Name, c); err != nil {
			return nil, res, err
		}
	}
	for _, u := range add.Users {
		if err := upsert(root, listUsers, u.Name, u); err != nil {
			return nil, res, err
		}
	}
	for _, x := range add.Contexts {
		if err := upsert(root, listContexts, x.Name, x); err != nil {
			return nil, res, err
		}
	}
	if add.CurrentContext != "" {
		setScalar(root, "current-context", add.CurrentContext)
	}
	setScalar(root, "apiVersion", "v1")
	setScalar(root, "kind", "Config")
	out, err := encodeTree(doc)
	return out, res, err
}

// Remove deletes the context named context from the kubeconfig data,
// with its cluster and user when no other context uses them, provided
// the context's cluster has the CA caPEM (so that another cluster's
// context of the same name is left alone). It reports whether it removed
// anything; the current context is unset if it was the removed one.
func Remove(data []byte, context string, caPEM []byte) ([]byte, bool, error) {
	doc, root, err := parseTree(data)
	if err != nil {
		return nil, false, err
	}
	var cfg Config
	if err := root.Decode(&cfg); err != nil {
		return nil, false, fmt.Errorf("parse kubeconfig: %w", err)
	}
	i := slices.IndexFunc(cfg.Contexts, func(c NamedContext) bool { return c.Name == context })
	if i < 0 {
		return data, false, nil
	}
	ctx := cfg.Contexts[i].Context
	ci := slices.IndexFunc(cfg.Clusters, func(c NamedCluster) bool { return c.Name == ctx.Cluster })
	if ci < 0 || !bytes.Equal(cfg.Clusters[ci].Cluster.CertificateAuthorityData, caPEM) {
		return data, false, nil
	}
	deleteNamed(root, listContexts, context)
	used := func(pick func(Context) string, name string) bool {
		return slices.ContainsFunc(cfg.Contexts, func(c NamedContext) bool { return c.Name != context && pick(c.Context) == name })
	}
	if !used(func(c Context) string { return c.Cluster }, ctx.Cluster) {
		deleteNamed(root, listClusters, ctx.Cluster)
	}
	if !used(func(c Context) string { return c.User }, ctx.User) {
		deleteNamed(root, listUsers, ctx.User)
	}
	if cfg.CurrentContext == context {
		setScalar(root, "current-context", "")
	}
	out, err := encodeTree(doc)
	return out, true, err
}

// parseTree parses data into a document whose root is a mapping.
func parseTree(data []byte) (*yaml.Node, *yaml.Node, error) {
	doc := &yaml.Node{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, doc); err != nil {
			return nil, nil, fmt.Errorf("parse kubeconfig: %w", err)
		}
	}
	if doc.Kind == 0 {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode}
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("parse kubeconfig: the document is not a mapping")
	}
	return doc, root, nil
}

func encodeTree(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return buf.Bytes(), nil
}

// value returns the value node of key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setScalar sets key of mapping m to the string v.
func setScalar(m *yaml.Node, key, v string) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if old := value(m, key); old != nil {
		*old = *n
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, n)
}

// list returns the sequence under key, created when missing (or null).
func list(m *yaml.Node, key string) (*yaml.Node, error) {
	v := value(m, key)
	switch {
	case v == nil:
		v = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		*v = yaml.Node{Kind: yaml.SequenceNode}
	case v.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("kubeconfig: %s is not a list", key)
	}
	return v, nil
}

// nameOf is the name field of a list item.
func nameOf(item *yaml.Node) string {
	if item.Kind != yaml.MappingNode {
		return ""
	}
	if n := value(item, "name"); n != nil {
		return n.Value
	}
	return ""
}

// find returns the item named name of the list under key, or nil.
func find(m *yaml.Node, key, name string) *yaml.Node {
	v := value(m, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	for _, item := range v.Content {
		if nameOf(item) == name {
			return item
		}
	}
	return nil
}

// upsert replaces the item named name of the list under key by entry, or
// appends it.
func upsert(m *yaml.Node, key, name string, entry any) error {
	l, err := list(m, key)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := n.Encode(entry); err != nil {
		return fmt.Errorf("encode kubeconfig %s entry %s: %w", key, name, err)
	}
	for _, item := range l.Content {
		if nameOf(item) == name {
			*item = n
			return nil
		}
	}
	l.Content = append(l.Content, &n)
	return nil
}

// deleteNamed removes the item named name of the list under key.
func deleteNamed(m *yaml.Node, key, name string) {
	v := value(m, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return
	}
	v.Content = slices.DeleteFunc(v.Content, func(item *yaml.Node) bool { return nameOf(item) == name })
}

// present reports whether any of add's names is taken in m.
func present(m *yaml.Node, add *Config) bool {
	for _, n := range add.names() {
		if find(m, n.list, n.name) != nil {
			return true
		}
	}
	return false
}

// conflicts reports whether entries of add's names in m belong to another
// cluster: a cluster of that name with another CA, or a context of that
// name that uses another cluster.
func conflicts(m *yaml.Node, add *Config) bool {
	for _, c := range add.Clusters {
		if item := find(m, listClusters, c.Name); item != nil {
			var have NamedCluster
			if item.Decode(&have) != nil || !bytes.Equal(have.Cluster.CertificateAuthorityData, c.Cluster.CertificateAuthorityData) {
				return true
			}
		}
	}
	for _, x := range add.Contexts {
		if item := find(m, listContexts, x.Name); item != nil {
			var have NamedContext
			if item.Decode(&have) != nil || have.Context.Cluster != x.Context.Cluster || have.Context.User != x.Context.User {
				return true
			}
		}
	}
	return false
}

// freeSuffix is the first "-N" such that none of add's names with it is
// taken in m.
func freeSuffix(m *yaml.Node, add *Config) string {
	for i := 1; ; i++ {
		suffix := "-" + strconv.Itoa(i)
		if !slices.ContainsFunc(add.names(), func(n entryName) bool { return find(m, n.list, n.name+suffix) != nil }) {
			return suffix
		}
	}
}

// entryName is a list and an entry name in it.
type entryName struct{ list, name string }

func (c *Config) names() []entryName {
	var out []entryName
	for _, x := range c.Clusters {
		out = append(out, entryName{listClusters, x.Name})
	}
	for _, x := range c.Users {
		out = append(out, entryName{listUsers, x.Name})
	}
	for _, x := range c.Contexts {
		out = append(out, entryName{listContexts, x.Name})
	}
	return out
}

// rename appends suffix to every name of c and to the references to them.
func (c *Config) rename(suffix string) {
	for i := range c.Clusters {
		c.Clusters[i].Name += suffix
	}
	for i := range c.Users {
		c.Users[i].Name += suffix
	}
	for i := range c.Contexts {
		c.Contexts[i].Name += suffix
		c.Contexts[i].Context.Cluster += suffix
		c.Contexts[i].Context.User += suffix
	}
	if c.CurrentContext != "" {
		c.CurrentContext += suffix
	}
}

// clone copies c's lists (the byte slices are shared: they are not
// modified).
func (c *Config) clone() *Config {
	out := *c
	out.Clusters = slices.Clone(c.Clusters)
	out.Users = slices.Clone(c.Users)
	out.Contexts = slices.Clone(c.Contexts)
	return &out
}
