package memuse

import (
	"strings"
	"testing"
)

func TestProcessName(t *testing.T) {
	for _, c := range []struct{ command, args, want string }{
		{"plinth", "/usr/bin/plinth machined --mode metal", "machined"},
		{"kube", "/usr/bin/kube kube-apiserver --advertise-address=10.5.0.2", "kube-apiserver"},
		{"kubelet", "/usr/bin/kubelet --config=x", "kubelet"},
		{"", "/opt/cni/bin/flanneld --ip-masq", "flanneld"},
	} {
		if got := ProcessName(c.command, c.args); got != c.want {
			t.Errorf("ProcessName(%q, %q) = %q, want %q", c.command, c.args, got, c.want)
		}
	}
}

func TestTabulate(t *testing.T) {
	const m = 1 << 20
	worker := map[string]Use{"machined": {30 * m, 10 * m}, "kubelet": {100 * m, 30 * m}, "coredns": {20 * m, 5 * m}}
	cp := map[string]Use{"machined": {40 * m, 15 * m}, "etcd": {60 * m, 40 * m}}
	r := Tabulate(worker, cp)
	if r.Own.RSS != 130*m || r.Own.Anon != 40*m {
		t.Fatalf("own %+v: coredns is a pod, not the worker's own", r.Own)
	}
	if r.ControlPlane.RSS != 100*m {
		t.Fatalf("control plane %+v", r.ControlPlane)
	}
	for _, w := range []string{"etcd", "coredns", "150.0", "100.0"} {
		if !strings.Contains(r.Table, w) {
			t.Errorf("table lacks %q:\n%s", w, r.Table)
		}
	}
}
