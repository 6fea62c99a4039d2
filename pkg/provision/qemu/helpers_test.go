package qemu

// Test-only readers of the spec and the status recorder.

// node returns the named node's spec.
func (s *Spec) node(name string) (NodeSpec, bool) {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NodeSpec{}, false
}

// snapshot returns a copy of the status.
func (r *statusRecorder) snapshot() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.s
	c.Nodes = map[string]*NodeStatus{}
	for k, v := range r.s.Nodes {
		n := *v
		c.Nodes[k] = &n
	}
	return c
}
