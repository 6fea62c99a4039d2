package config_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/controllers/config"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMachineType(t *testing.T) {
	h := ctest.New(t, config.MachineTypeController{})
	h.Start(t)

	machineType := func() string {
		r := ctest.Get[resconfig.MachineTypeSpec](t, h.State, resconfig.NamespaceName, resconfig.MachineTypeType, resconfig.MachineTypeID)
		if r == nil {
			return ""
		}

		return r.TypedSpec().Type
	}

	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeControlPlane, nil))
	ctest.Eventually(t, "controlplane", func() bool { return machineType() == v1alpha1.TypeControlPlane })

	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, nil))
	ctest.Eventually(t, "worker", func() bool { return machineType() == v1alpha1.TypeWorker })

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "no machine type after reset", func() bool { return machineType() == "" })
}
