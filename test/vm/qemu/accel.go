package qemu

import (
	"context"
	"os"
	"sync"
	"time"
)

// kvmProbeTimeout bounds the probe boot: a usable KVM reaches init in well
// under a second; a broken one fails at once or crawls.
const kvmProbeTimeout = 20 * time.Second

var (
	accelOnce sync.Once
	accel     string
	accelWhy  string
)

// DetectAccel returns kvm when a probe boot of cfg's image under KVM
// reaches init's first line, else tcg, with the reason. The environment
// variable PLINTH_VM_ACCEL (tcg or kvm) skips the probe. The result is
// computed once per process.
func DetectAccel(ctx context.Context, cfg Config) (string, string) {
	accelOnce.Do(func() { accel, accelWhy = detect(ctx, cfg) })
	return accel, accelWhy
}

func detect(ctx context.Context, cfg Config) (string, string) {
	if v := os.Getenv("PLINTH_VM_ACCEL"); v == AccelKVM || v == AccelTCG {
		return v, "PLINTH_VM_ACCEL=" + v
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG, "no usable /dev/kvm: " + err.Error()
	}
	f.Close()
	cfg.Accel = AccelKVM
	ctx, cancel := context.WithTimeout(ctx, kvmProbeTimeout)
	defer cancel()
	m, err := Start(ctx, cfg)
	if err != nil {
		return AccelTCG, "kvm probe: " + err.Error()
	}
	defer m.Stop()
	if _, err := m.Console.WaitFor(ctx, InitStarted); err != nil {
		why := "kvm probe did not reach init: " + err.Error()
		if s := m.Stderr(); s != "" {
			why += ": " + firstLine(s)
		}
		return AccelTCG, why
	}
	return AccelKVM, "kvm probe reached init"
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
