package resources_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/files"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	"github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
)

// TestPrintColumns renders every type's columns from a sample, as
// "plinthctl get" does, and checks the YAML form carries the spec.
func TestPrintColumns(t *testing.T) {
	host := network.NewHostname()
	*host.TypedSpec() = network.HostnameSpec{Hostname: "node1", Domainname: "example.com", FQDN: "node1.example.com"}

	addrs := network.NewNodeAddresses()
	addrs.TypedSpec().Addresses = []string{"10.5.0.2/24"}

	status := files.NewStaticFileStatus("/var/etc/motd")
	status.TypedSpec().Op, status.TypedSpec().Applied = "create", true

	env := files.NewEnvironment()
	env.TypedSpec().Variables = map[string]string{"A": "b"}

	certs := secrets.NewAPICertificates()
	certs.TypedSpec().NotAfter = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	certs.TypedSpec().DNSNames = []string{"localhost"}

	samples := []struct {
		res  resource.Resource
		defs []resource.Definition
		want string
	}{
		{host, network.Definitions, "node1"},
		{addrs, network.Definitions, "10.5.0.2/24"},
		{status, files.Definitions, "true"},
		{env, files.Definitions, "A"},
		{certs, secrets.Definitions, "2030-01-02T03:04:05Z"},
	}

	for _, s := range samples {
		typ := s.res.Metadata().Type

		row, err := definition(t, s.defs, typ).Row(s.res)
		if err != nil {
			t.Fatal(err)
		}

		if !strings.Contains(strings.Join(row, " "), s.want) {
			t.Errorf("%s row %q lacks %q", typ, row, s.want)
		}

		out, err := resource.MarshalYAML(s.res)
		if err != nil {
			t.Fatal(err)
		}

		if !strings.Contains(string(out), s.want) {
			t.Errorf("%s YAML lacks %q:\n%s", typ, s.want, out)
		}
	}
}

func definition(t *testing.T, defs []resource.Definition, typ string) resource.Definition {
	t.Helper()

	for _, d := range defs {
		if d.Type == typ {
			return d
		}
	}

	t.Fatalf("no definition of %s", typ)

	return resource.Definition{}
}
