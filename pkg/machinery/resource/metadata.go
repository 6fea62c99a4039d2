package resource

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Phase is where a resource is in its lifecycle (see the package comment).
type Phase int

const (
	// PhaseRunning is the phase of a live resource; the zero value.
	PhaseRunning Phase = iota
	// PhaseTearingDown marks a resource its owner wants to destroy once the
	// finalizers are gone.
	PhaseTearingDown
)

// String returns "running" or "tearing-down".
func (p Phase) String() string {
	switch p {
	case PhaseRunning:
		return "running"
	case PhaseTearingDown:
		return "tearing-down"
	default:
		return fmt.Sprintf("phase(%d)", int(p))
	}
}

// MarshalText encodes the phase as its name.
func (p Phase) MarshalText() ([]byte, error) {
	if p != PhaseRunning && p != PhaseTearingDown {
		return nil, fmt.Errorf("marshal phase: unknown phase %d", int(p))
	}

	return []byte(p.String()), nil
}

// UnmarshalText decodes a phase name; an empty name means running.
func (p *Phase) UnmarshalText(text []byte) error {
	switch string(text) {
	case "running", "":
		*p = PhaseRunning
	case "tearing-down":
		*p = PhaseTearingDown
	default:
		return fmt.Errorf("unmarshal phase: unknown phase %q", text)
	}

	return nil
}

// Ref names one resource: namespace, type and ID.
type Ref struct {
	Namespace string
	Type      string
	ID        string
}

// String returns "namespace/type/id".
func (r Ref) String() string {
	return r.Namespace + "/" + r.Type + "/" + r.ID
}

// Metadata is what every resource carries besides its spec. The state owns
// Version, Phase, Owner, Finalizers, Created and Updated: writers set the
// identity (Namespace, Type, ID) and Labels, the state fills in the rest.
type Metadata struct {
	// Namespace groups resources, e.g. "network" or "config".
	Namespace string `json:"namespace"`
	// Type is the resource type, e.g. "Addresses.net.plinth.dev".
	Type string `json:"type"`
	// ID is unique within the namespace and type.
	ID string `json:"id"`
	// Version starts at 1 and is bumped on each accepted change.
	Version uint64 `json:"version"`
	// Phase is running or tearing-down.
	Phase Phase `json:"phase"`
	// Owner is the name of the controller that manages the resource;
	// empty means the user or machined itself.
	Owner string `json:"owner,omitempty"`
	// Labels are free-form key/value pairs used by selectors.
	Labels map[string]string `json:"labels,omitempty"`
	// Finalizers name the consumers that block destruction.
	Finalizers []string `json:"finalizers,omitempty"`
	// Created is when the resource was first stored.
	Created time.Time `json:"created"`
	// Updated is when the resource last changed.
	Updated time.Time `json:"updated"`
}

// NewMetadata returns metadata for a new resource in the running phase.
func NewMetadata(namespace, typ, id string) Metadata {
	return Metadata{Namespace: namespace, Type: typ, ID: id}
}

// Ref returns the reference naming this resource.
func (m *Metadata) Ref() Ref {
	return Ref{Namespace: m.Namespace, Type: m.Type, ID: m.ID}
}

// Clone returns a copy that shares no maps or slices with m.
func (m *Metadata) Clone() Metadata {
	c := *m
	c.Labels = maps.Clone(m.Labels)
	c.Finalizers = slices.Clone(m.Finalizers)

	return c
}

// HasFinalizers reports whether any finalizer remains.
func (m *Metadata) HasFinalizers() bool {
	return len(m.Finalizers) > 0
}

// Validate checks that the identity is complete.
func (m *Metadata) Validate() error {
	switch {
	case m.Namespace == "":
		return fmt.Errorf("resource %s: namespace is empty", m.Ref())
	case m.Type == "":
		return fmt.Errorf("resource %s: type is empty", m.Ref())
	case m.ID == "":
		return fmt.Errorf("resource %s: id is empty", m.Ref())
	}

	return nil
}
