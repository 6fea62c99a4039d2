// Package good is a small config package for docgen's tests.
package good

import "example.com/pki"

// APIVersion of the documents.
const APIVersion = "v9"

// Kinds of the documents.
const (
	KindMain  = "Main"
	KindExtra = "Extra"
)

// Meta names a document's schema.
type Meta struct {
	// APIVersion of the document.
	// Values: v9
	APIVersion string `yaml:"apiVersion"`
	// Kind of the document.
	Kind string `yaml:"kind"`
}

// Main is the main document.
//
// A second paragraph that is not documentation.
type Main struct {
	Meta `yaml:",inline"`
	// Node holds the node.
	Node   *Node `yaml:"node,omitempty"`
	hidden string
	// Skipped is not in YAML.
	Skipped string `yaml:"-"`
}

// Node is one node.
type Node struct {
	// Mode of the node, one of two.
	// Values: fast, slow
	// Default: slow
	Mode string `yaml:"mode"`
	// Links of the node.
	Links []Link `yaml:"links,omitempty"`
	// Mirrors by host.
	// Example: {docker.io: {endpoints: [a, b]}}
	Mirrors map[string]*Mirror `yaml:"mirrors,omitempty"`
	// Labels of the node.
	// Example: {a: b}
	Labels map[string]string `yaml:"labels,omitempty"`
	// Grid is a list of lists of links.
	Grid [][]Link `yaml:"grid,omitempty"`
	// CA of the node.
	CA *pki.CertAndKey `yaml:"ca,omitempty"`
	// Key of the node.
	Key Base64 `yaml:"key,omitempty"`
	// Extra is anything.
	Extra map[string]any `yaml:"extra,omitempty"`
	// On turns it on.
	// Default: true
	On *bool `yaml:"on,omitempty"`
}

// Link is one link.
type Link struct {
	// MTU of the link.
	// Default: 1500
	// Example: 9000
	MTU uint32 `yaml:"mtu,omitempty"`
	// Hostname or "none".
	Hostname string `yaml:"hostname,omitempty"`
	// Weight may be negative.
	Weight int `yaml:"weight,omitempty"`
}

// Mirror lists endpoints.
type Mirror struct {
	// Endpoints are URLs.
	Endpoints []string `yaml:"endpoints"`
}

// Base64 is binary data.
type Base64 []byte

// Extra is a second document.
type Extra struct {
	Meta `yaml:",inline"`
	// Name of the extra.
	Name string `yaml:"name"`
}
