package resource

// Typed is a Resource with a spec of Go type S. Resource packages declare
// their spec types and constructors on top of it, for example:
//
//	type HostnameSpec struct {
//		Hostname string `json:"hostname"`
//	}
//
//	func NewHostname(id string) *resource.Typed[HostnameSpec] {
//		return resource.NewTyped(NamespaceNetwork, HostnameType, id, HostnameSpec{})
//	}
//
// Spec types carry json tags only: both the JSON and the YAML encodings are
// derived from them (see MarshalYAML).
//
// DeepCopy copies the spec with its own DeepCopy method when S (or *S)
// implements DeepCopier[S]. Otherwise it copies by reflection: pointers,
// maps, slices, arrays, interfaces and exported struct fields are copied
// deeply; unexported struct fields, functions and channels are copied as they
// are (so types like time.Time and netip.Addr, whose fields are unexported
// but immutable, copy correctly). Specs must be trees: reflection does not
// follow cycles.
type Typed[S any] struct {
	md   Metadata
	spec S
}

// NewTyped returns a running resource with the given identity and spec.
func NewTyped[S any](namespace, typ, id string, spec S) *Typed[S] {
	return &Typed[S]{md: NewMetadata(namespace, typ, id), spec: spec}
}

// Metadata returns a pointer to the resource's metadata.
func (t *Typed[S]) Metadata() *Metadata {
	return &t.md
}

// Spec returns the spec as a value of type S.
func (t *Typed[S]) Spec() any {
	return t.spec
}

// TypedSpec returns a pointer to the spec, for reading or editing in place.
func (t *Typed[S]) TypedSpec() *S {
	return &t.spec
}

// DeepCopy returns an independent copy of the resource.
func (t *Typed[S]) DeepCopy() Resource {
	return &Typed[S]{md: t.md.Clone(), spec: copySpec(t.spec)}
}

func copySpec[S any](spec S) S {
	if c, ok := any(spec).(DeepCopier[S]); ok {
		return c.DeepCopy()
	}

	if c, ok := any(&spec).(DeepCopier[S]); ok {
		return c.DeepCopy()
	}

	return deepCopy(spec)
}
