package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// kvmProbeTimeout bounds the KVM probe boot: a usable KVM reaches init in
// a second or two; a broken one fails at once or crawls.
const kvmProbeTimeout = 20 * time.Second

// AccelEnv forces the accelerator (tcg or kvm), as for the VM tests.
const AccelEnv = "PLINTH_VM_ACCEL"

// chooseAccel returns the accelerator of the cluster's VMs and why: the
// one forced by Options.Accel or $PLINTH_VM_ACCEL, else kvm when a probe
// boot of the image under KVM reaches init's first line, else tcg. KVM
// that exists but does not work (nested or paravirtualised hosts, where
// guests crash or crawl) is common enough that only a real boot decides.
func (p *Provisioner) chooseAccel(ctx context.Context, firmware, kernel, initrd string) (string, string) {
	for _, forced := range []struct{ v, why string }{{p.opts.Accel, "forced"}, {os.Getenv(AccelEnv), AccelEnv + " is set"}} {
		if forced.v == AccelKVM || forced.v == AccelTCG {
			return forced.v, forced.why
		}
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG, "no usable /dev/kvm: " + err.Error()
	}
	f.Close()
	ctx, cancel := context.WithTimeout(ctx, kvmProbeTimeout)
	defer cancel()
	if err := probeBoot(ctx, p.opts.Binary, probeArgs(AccelKVM, firmware, kernel, initrd)); err != nil {
		return AccelTCG, "KVM probe failed: " + err.Error()
	}
	return AccelKVM, "KVM probe reached init"
}

// probeBoot starts QEMU with args and waits until init's first line shows
// on the console, then stops it.
func probeBoot(ctx context.Context, bin string, args []string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	found := make(chan bool, 1)
	go func() {
		seen := false
		copyConsole(out, io.Discard, time.Now, func(time.Time, time.Duration) {
			if !seen {
				seen = true
				found <- true
			}
		})
		if !seen {
			found <- false
		}
	}()
	var ok bool
	select {
	case ok = <-found:
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	switch {
	case ok:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("no init within %s", kvmProbeTimeout)
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = "QEMU exited before init started"
	}
	return fmt.Errorf("%s", firstLine(msg))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
