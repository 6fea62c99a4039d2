package config

import (
	"slices"
	"strconv"
)

// Rename records that a merged-in context was stored under another name
// because its own was taken.
type Rename struct {
	// From is the context's name in the merged-in config.
	From string
	// To is its name in the result.
	To string
}

// Merge copies other's contexts into c. A context whose name is taken by a
// different context is renamed name-1, name-2, ... (the first name free in
// both configs); one identical to the context of the same name is already
// there and is left as is, so merging a file twice changes nothing the
// second time. If other has a current context, its (possibly renamed) copy
// becomes c's current context. Merge returns the renames, in name order.
func (c *Config) Merge(other *Config) []Rename {
	if c.Contexts == nil {
		c.Contexts = map[string]*Context{}
	}
	var renames []Rename
	for _, name := range other.Names() {
		in := other.Contexts[name]
		if in == nil {
			in = &Context{}
		}
		to := name
		if have, ok := c.Contexts[name]; ok && !have.Equal(in) {
			to = c.freeName(name, other)
			renames = append(renames, Rename{From: name, To: to})
		}
		c.Contexts[to] = in.Clone()
		if name == other.Context {
			c.Context = to
		}
	}
	return renames
}

// freeName is the first of name-1, name-2, ... used in neither c nor other.
func (c *Config) freeName(name string, other *Config) string {
	for i := 1; ; i++ {
		candidate := name + "-" + strconv.Itoa(i)
		_, inC := c.Contexts[candidate]
		_, inOther := other.Contexts[candidate]
		if !inC && !inOther {
			return candidate
		}
	}
}

// Clone returns a deep copy of the context; nil stays nil.
func (x *Context) Clone() *Context {
	if x == nil {
		return nil
	}
	y := *x
	y.Endpoints = slices.Clone(x.Endpoints)
	y.Nodes = slices.Clone(x.Nodes)
	return &y
}

// Equal reports whether two contexts hold the same settings.
func (x *Context) Equal(y *Context) bool {
	if x == nil || y == nil {
		return x == y
	}
	return slices.Equal(x.Endpoints, y.Endpoints) && slices.Equal(x.Nodes, y.Nodes) &&
		x.CA == y.CA && x.Crt == y.Crt && x.Key == y.Key
}
