package machined_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
)

// BenchmarkApplyConfigNoReboot measures a no-reboot apply-config through
// machined's API until the controllers have converged: the Hostname
// resource shows the new name.
func BenchmarkApplyConfigNoReboot(b *testing.B) {
	n := startNode(b, false)
	mc, rc, cfg := configured(b, n)
	ctx := context.Background()
	base := string(cfg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d", i)
		data := strings.Replace(base, "machine:\n", "machine:\n  network:\n    hostname: "+name+"\n", 1)
		if _, err := mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{
			Data: []byte(data), Mode: machine.ApplyConfigurationRequest_NO_REBOOT,
		}); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := rc.Get(ctx, &resource.GetRequest{Type: "hostname", Id: "hostname"})
			if err == nil && strings.Contains(string(resp.GetMessages()[0].GetResource().GetSpec()), "hostname: "+name) {
				break
			}
		}
	}
}
