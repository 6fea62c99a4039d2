package k8s_test

import (
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// TestNodePrintColumns renders the node types' columns from samples.
func TestNodePrintColumns(t *testing.T) {
	kubelet := k8s.NewKubelet()
	kubelet.TypedSpec().NodeName, kubelet.TypedSpec().NodeIPs = "worker-1", []string{"10.5.0.3"}

	images := k8s.NewPreloadedImages()
	images.TypedSpec().Complete = true
	images.TypedSpec().Names = []string{"registry.k8s.io/coredns/coredns:v1.15.0", "registry.k8s.io/pause:3.10"}
	images.TypedSpec().Images = []k8s.PreloadedImage{
		{File: "/usr/share/plinth/images/pause.tar", Names: []string{"registry.k8s.io/pause:3.10"}, Imported: true},
		{File: "/usr/share/plinth/images/coredns.tar", Names: []string{"registry.k8s.io/coredns/coredns:v1.15.0"}},
	}

	cidrs := k8s.NewPodCIDRs()
	cidrs.TypedSpec().NodeName, cidrs.TypedSpec().PodCIDRs = "worker-1", []string{"10.244.1.0/24"}

	for _, s := range []struct {
		res  resource.Resource
		want []string
	}{
		{kubelet, []string{"worker-1", "10.5.0.3"}},
		{images, []string{"true", "registry.k8s.io/pause:3.10", "coredns"}},
		{cidrs, []string{"worker-1", "10.244.1.0/24"}},
	} {
		typ := s.res.Metadata().Type
		var def *resource.Definition
		for i, d := range k8s.NodeDefinitions {
			if d.Type == typ {
				def = &k8s.NodeDefinitions[i]
			}
		}
		if def == nil {
			t.Fatalf("no definition of %s", typ)
		}
		row, err := def.Row(s.res)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range s.want {
			if !strings.Contains(strings.Join(row, " "), w) {
				t.Errorf("%s row %q lacks %q", typ, row, w)
			}
		}
	}
}
