package ctest

import (
	"context"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

// Token is the machine token of the configs made here.
const Token = "abcdef.0123456789abcdef"

// NewOSCA returns a fresh OS CA valid for ten years from now.
func NewOSCA(t *testing.T, now func() time.Time) *pki.CertAndKey {
	t.Helper()

	ca, err := pki.NewCA(pki.CAOptions{
		CommonName: "plinth", Organization: []string{"plinth"},
		Validity: 10 * 365 * 24 * time.Hour, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}

	return ca
}

// MachineConfig returns a minimal MachineConfig of the given type. Control
// planes get the whole CA, workers only its certificate; a nil ca leaves
// machine.ca out.
func MachineConfig(machineType string, ca *pki.CertAndKey) *v1alpha1.MachineConfig {
	var machineCA *pki.CertAndKey
	if ca != nil {
		machineCA = &pki.CertAndKey{Crt: ca.Crt}
		if machineType == v1alpha1.TypeControlPlane {
			machineCA.Key = ca.Key
		}
	}

	return &v1alpha1.MachineConfig{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.KindMachineConfig},
		Machine: &v1alpha1.Machine{
			Type:    machineType,
			Token:   Token,
			CA:      machineCA,
			Network: &v1alpha1.Network{},
		},
		Cluster: &v1alpha1.Cluster{
			ClusterName:  "test",
			ControlPlane: &v1alpha1.ControlPlane{Endpoint: "https://127.0.0.1:6443"},
		},
	}
}

// SetConfig creates or replaces the active MachineConfig, as machined does.
// Stored configs are shared and immutable: pass a fresh m every time.
func SetConfig(t *testing.T, st runtime.State, m *v1alpha1.MachineConfig) {
	t.Helper()

	cfg := config.New(m)

	err := runtime.ModifyTyped(context.Background(), st, resconfig.NewMachineConfig(cfg, nil),
		func(r *resconfig.MachineConfig) error {
			r.TypedSpec().Config = cfg

			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// DestroyConfig destroys the active MachineConfig, as a reset does.
func DestroyConfig(t *testing.T, st runtime.State) {
	t.Helper()

	if err := st.Destroy(context.Background(), resconfig.NewMachineConfig(nil, nil).Metadata().Ref()); err != nil {
		t.Fatal(err)
	}
}
