package provision_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/plinth-os/plinth/pkg/provision"
)

func TestSaveLoadList(t *testing.T) {
	t.Setenv("PLINTH_CLUSTERS", t.TempDir())
	dir, err := provision.Dir("demo")
	if err != nil {
		t.Fatal(err)
	}
	c := &provision.Cluster{
		Name: "demo", Provisioner: "docker", Network: netip.MustParsePrefix("10.5.0.0/24"),
		Gateway: netip.MustParseAddr("10.5.0.1"), StateDir: dir,
		Nodes: []provision.Node{{Name: "demo-controlplane-1", Type: provision.TypeControlPlane, IP: netip.MustParseAddr("10.5.0.2"), APIEndpoint: "127.0.0.1:50123"}},
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := provision.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("loaded %+v, want %+v", got, c)
	}
	names, err := provision.List()
	if err != nil || !reflect.DeepEqual(names, []string{"demo"}) {
		t.Errorf("List = %v, %v", names, err)
	}
	if _, err := provision.Load("nope"); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Load(nope) = %v, want ErrNotFound", err)
	}
	if filepath.Base(dir) != "demo" {
		t.Errorf("Dir = %s", dir)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"demo": true, "a": true, "demo-2": true, "Demo": false, "-x": false, "": false, "a_b": false} {
		if err := provision.CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}
