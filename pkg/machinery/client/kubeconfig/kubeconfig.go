// Package kubeconfig builds, reads and merges Kubernetes client configs
// (kubeconfig files) without client-go: the admin kubeconfig a control
// plane issues, the one plinthctl merges into ~/.kube/config, and what
// plinthctl needs to call the Kubernetes API itself.
//
// Merging works on the file's YAML tree, so that everything plinthctl does
// not know (exec credentials, extensions, preferences) is kept as it was.
package kubeconfig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is a kubeconfig with the fields Plinth writes and reads. Unknown
// fields are dropped by Parse: use Merge and Remove to edit a user's file.
type Config struct {
	APIVersion     string         `yaml:"apiVersion"`
	Kind           string         `yaml:"kind"`
	Clusters       []NamedCluster `yaml:"clusters"`
	Contexts       []NamedContext `yaml:"contexts"`
	CurrentContext string         `yaml:"current-context"`
	Users          []NamedUser    `yaml:"users"`
}

// NamedCluster is an entry of clusters.
type NamedCluster struct {
	Name    string  `yaml:"name"`
	Cluster Cluster `yaml:"cluster"`
}

// Cluster is where the API is and which CA it presents.
type Cluster struct {
	// Server is the API's https URL.
	Server string `yaml:"server"`
	// CertificateAuthorityData is the PEM CA bundle.
	CertificateAuthorityData Data `yaml:"certificate-authority-data,omitempty"`
	// TLSServerName overrides the name the server certificate is checked for.
	TLSServerName string `yaml:"tls-server-name,omitempty"`
}

// NamedContext is an entry of contexts.
type NamedContext struct {
	Name    string  `yaml:"name"`
	Context Context `yaml:"context"`
}

// Context pairs a cluster with a user.
type Context struct {
	Cluster   string `yaml:"cluster"`
	User      string `yaml:"user"`
	Namespace string `yaml:"namespace,omitempty"`
}

// NamedUser is an entry of users.
type NamedUser struct {
	Name string `yaml:"name"`
	User User   `yaml:"user"`
}

// User holds a client certificate and its key, PEM.
type User struct {
	ClientCertificateData Data   `yaml:"client-certificate-data,omitempty"`
	ClientKeyData         Data   `yaml:"client-key-data,omitempty"`
	Token                 string `yaml:"token,omitempty"`
}

// Data is binary data (PEM) written as a base64 string, as kubeconfigs
// hold certificates and keys.
type Data []byte

// MarshalYAML implements yaml.Marshaler.
func (d Data) MarshalYAML() (any, error) { return base64.StdEncoding.EncodeToString(d), nil }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Data) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a base64 string", n.Line)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
	if err != nil {
		return fmt.Errorf("line %d: expected a base64 string: %w", n.Line, err)
	}
	*d = raw
	return nil
}

// AdminContextName is the name of the admin context of a cluster:
// "admin@NAME", also used for its user.
func AdminContextName(cluster string) string { return "admin@" + cluster }

// NewAdmin returns a kubeconfig with one cluster, one user and one context
// ("admin@CLUSTER"), current.
func NewAdmin(cluster, server string, caPEM, certPEM, keyPEM []byte) *Config {
	name := AdminContextName(cluster)
	return &Config{
		APIVersion: "v1", Kind: "Config",
		Clusters:       []NamedCluster{{Name: cluster, Cluster: Cluster{Server: server, CertificateAuthorityData: caPEM}}},
		Users:          []NamedUser{{Name: name, User: User{ClientCertificateData: certPEM, ClientKeyData: keyPEM}}},
		Contexts:       []NamedContext{{Name: name, Context: Context{Cluster: cluster, User: name}}},
		CurrentContext: name,
	}
}

// Bytes encodes the config as YAML.
func (c *Config) Bytes() ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return b, nil
}

// Parse decodes a kubeconfig, keeping only the fields of Config.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("parse kubeconfig: %w", err)
	}
	if c.Kind != "" && c.Kind != "Config" {
		return nil, fmt.Errorf("parse kubeconfig: kind is %q, expected Config", c.Kind)
	}
	return &c, nil
}

// ErrNoContext is returned when a config has no usable current context.
var ErrNoContext = errors.New("kubeconfig has no current context")

// Current returns the current context's cluster and user.
func (c *Config) Current() (*Cluster, *User, error) {
	if c.CurrentContext == "" {
		return nil, nil, ErrNoContext
	}
	var ctx *Context
	for i := range c.Contexts {
		if c.Contexts[i].Name == c.CurrentContext {
			ctx = &c.Contexts[i].Context
		}
	}
	if ctx == nil {
		return nil, nil, fmt.Errorf("kubeconfig: current context %q is not defined", c.CurrentContext)
	}
	var cl *Cluster
	for i := range c.Clusters {
		if c.Clusters[i].Name == ctx.Cluster {
			cl = &c.Clusters[i].Cluster
		}
	}
	var u *User
	for i := range c.Users {
		if c.Users[i].Name == ctx.User {
			u = &c.Users[i].User
		}
	}
	if cl == nil || u == nil {
		return nil, nil, fmt.Errorf("kubeconfig: context %q names cluster %q and user %q, not both defined", c.CurrentContext, ctx.Cluster, ctx.User)
	}
	return cl, u, nil
}

// SetServer points every cluster of c at server (plinthctl uses it to
// reach a cluster through a port published on the host).
func (c *Config) SetServer(server string) {
	for i := range c.Clusters {
		c.Clusters[i].Cluster.Server = server
	}
}
