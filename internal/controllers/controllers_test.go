package controllers_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/controllers"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/secrets"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
	ressecrets "github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDefinitions(t *testing.T) {
	reg := resource.NewRegistry()
	// runtime/ types (ServiceConfig) are registered by machined itself.
	if err := reg.Register(append(controllers.Definitions(), rtres.Definitions...)...); err != nil {
		t.Fatal(err)
	}

	for name, sensitive := range map[string]bool{
		"apicerts": true, "mc": true, "hostname": false, "nodeaddresses": false,
		"staticfilestatus": false, "env": false, "machinetype": false,
		"etcdcerts": true, "k8scerts": true, "manifests": true, "etcdstatus": false, "etcdmembers": false,
	} {
		d, err := reg.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}

		if d.Sensitive != sensitive {
			t.Errorf("%s sensitive = %v, want %v", d.Type, d.Sensitive, sensitive)
		}
	}

	// Every type a controller writes is defined.
	for _, c := range controllers.All(controllers.Deps{}) {
		for _, out := range c.Outputs() {
			if _, err := reg.Lookup(out.Type); err != nil {
				t.Errorf("%s writes %s: %v", c.Name(), out.Type, err)
			}
		}
	}
}

func TestAllOnAControlPlane(t *testing.T) {
	root := t.TempDir()

	var hostnames atomic.Int32

	h := ctest.New(t, controllers.All(controllers.Deps{
		Root:                root,
		MachineID:           "0f1e2d3c4b5a",
		SetHostname:         func(string) error { hostnames.Add(1); return nil },
		Addresses:           func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("10.5.0.2/24")}, nil },
		AddressPollInterval: 10 * time.Millisecond,
	})...)
	h.Start(t)

	m := ctest.MachineConfig(v1alpha1.TypeControlPlane, ctest.NewOSCA(t, nil))
	m.Machine.Env = map[string]string{"HTTP_PROXY": "http://proxy:3128"}
	m.Machine.Files = []v1alpha1.File{{Path: "/var/etc/motd", Content: "hi\n"}}
	ctest.SetConfig(t, h.State, m)

	exists := func(p string) bool { _, err := os.Stat(filepath.Join(root, p)); return err == nil }

	ctest.Eventually(t, "every output", func() bool {
		return exists(secrets.APICertPath) && exists(secrets.OSCACertPath) && exists("var/etc/motd") &&
			exists("etc/hostname") && exists("etc/hosts") &&
			ctest.Get[resconfig.MachineTypeSpec](t, h.State, resconfig.NamespaceName, resconfig.MachineTypeType, resconfig.MachineTypeID) != nil &&
			ctest.Get[resfiles.EnvironmentSpec](t, h.State, resfiles.NamespaceName, resfiles.EnvironmentType, resfiles.EnvironmentID) != nil
	})

	// /etc/hosts may come before the first address poll, then follow it.
	ctest.Eventually(t, "hostname on the address in /etc/hosts", func() bool {
		hosts, err := os.ReadFile(filepath.Join(root, "etc/hosts"))

		return err == nil && strings.Contains(string(hosts), "10.5.0.2\tplinth-0f1e2d\n")
	})

	if got := ctest.Get[resnet.HostnameSpec](t, h.State, resnet.NamespaceName, resnet.HostnameType, resnet.HostnameID); got.TypedSpec().Hostname != "plinth-0f1e2d" {
		t.Errorf("hostname %+v", got.TypedSpec())
	}

	if n := hostnames.Load(); n != 1 {
		t.Errorf("SetHostname called %d times, want 1", n)
	}

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "certificates gone after reset", func() bool {
		return !exists(secrets.APICertPath) &&
			ctest.Get[ressecrets.APICertificatesSpec](t, h.State, ressecrets.NamespaceName, ressecrets.APICertificatesType, ressecrets.APICertificatesID) == nil
	})
}
