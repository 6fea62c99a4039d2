package resource

// Resource is one piece of node state: metadata plus a spec.
//
// Implementations are plain values: Metadata returns a pointer into the
// resource so writers can set labels before storing it, and DeepCopy returns
// a copy that shares nothing mutable with the original.
type Resource interface {
	// Metadata returns the resource's metadata, for reading or editing.
	Metadata() *Metadata
	// Spec returns the spec: a Go value for typed resources, a generic
	// JSON-like tree for Unstructured ones.
	Spec() any
	// DeepCopy returns an independent copy.
	DeepCopy() Resource
}

// DeepCopier is implemented by specs that know how to copy themselves.
// Typed uses it instead of reflection when the spec type provides it.
type DeepCopier[S any] interface {
	DeepCopy() S
}
