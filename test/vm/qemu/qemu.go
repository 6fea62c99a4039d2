// Package qemu boots Plinth images in QEMU for tests and benchmarks: it
// builds the command line (qboot + vmlinux when available, else -kernel
// vmlinuz), picks the accelerator (KVM only when a probe boot proves it
// usable, else TCG), forwards a host port to the guest's API port, and
// records every console line with the host time it arrived.
package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Paths of the tools the harness needs.
const (
	Binary = "qemu-system-x86_64"
	// QbootROM is the minimal firmware that boots an ELF vmlinux directly.
	QbootROM = "/usr/share/qemu/qboot.rom"
)

// GuestAPIPort is the guest port the host port forwards to.
const GuestAPIPort = 50000

// Accelerators.
const (
	AccelTCG = "tcg"
	AccelKVM = "kvm"
)

// Config describes one VM.
type Config struct {
	// Vmlinux is the uncompressed kernel, booted with qboot when both exist.
	Vmlinux string
	// Vmlinuz is the bzImage, booted with QEMU's default firmware otherwise.
	Vmlinuz string
	// Initrd is the initramfs.
	Initrd string
	// Accel is tcg or kvm.
	Accel string
	// CPUs and MemoryMiB size the VM (2 and 1024 when zero).
	CPUs, MemoryMiB int
	// Quiet adds "quiet" to the kernel command line.
	Quiet bool
	// Append are extra kernel command-line words.
	Append []string
	// HostPort is forwarded to the guest's GuestAPIPort (free port when 0).
	HostPort int
}

// Cmdline returns the kernel command line.
func (c Config) Cmdline() string {
	words := []string{"console=ttyS0", "panic=-1"}
	if c.Quiet {
		words = append(words, "quiet")
	}
	return strings.Join(append(words, c.Append...), " ")
}

// Args returns QEMU's arguments. useQboot says whether qboot and vmlinux
// are used (else -kernel vmlinuz with the default firmware).
func (c Config) Args(useQboot bool) []string {
	cpus, mem := c.CPUs, c.MemoryMiB
	if cpus == 0 {
		cpus = 2
	}
	if mem == 0 {
		mem = 1024
	}
	args := []string{
		"-accel", c.Accel, "-cpu", "max", "-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(mem),
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-no-reboot",
		"-netdev", fmt.Sprintf("user,id=net0,hostfwd=tcp:127.0.0.1:%d-:%d", c.HostPort, GuestAPIPort),
		"-device", "virtio-net-pci,netdev=net0,romfile=",
	}
	if useQboot {
		args = append(args, "-bios", QbootROM, "-kernel", c.Vmlinux)
	} else {
		args = append(args, "-kernel", c.Vmlinuz)
	}
	return append(args, "-initrd", c.Initrd, "-append", c.Cmdline())
}

// canQboot reports whether qboot and vmlinux are both present.
func (c Config) canQboot() bool {
	if c.Vmlinux == "" {
		return false
	}
	for _, p := range []string{QbootROM, c.Vmlinux} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// Machine is a running VM.
type Machine struct {
	// Console has the guest's serial console lines.
	Console *Console
	// Started is when QEMU was started (host clock).
	Started time.Time
	// HostPort is forwarded to the guest's API port.
	HostPort int
	// Qboot says whether the VM booted vmlinux through qboot.
	Qboot bool
	// Config is the configuration it runs with.
	Config Config

	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	stderr *lockedBuffer
}

// Start boots a VM. Stop it with Stop.
func Start(ctx context.Context, cfg Config) (*Machine, error) {
	if cfg.Accel == "" {
		cfg.Accel = AccelTCG
	}
	if cfg.HostPort == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		cfg.HostPort = p
	}
	m := &Machine{Config: cfg, HostPort: cfg.HostPort, Qboot: cfg.canQboot(), done: make(chan struct{}), stderr: &lockedBuffer{}}
	m.cmd = exec.CommandContext(ctx, Binary, cfg.Args(m.Qboot)...)
	m.cmd.Stdin = nil
	m.cmd.Stderr = m.stderr
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	m.Console = newConsole()
	m.Started = time.Now()
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	go func() {
		m.Console.read(out)
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	return m, nil
}

// Done is closed when QEMU has exited.
func (m *Machine) Done() <-chan struct{} { return m.done }

// Err is QEMU's exit status once Done is closed.
func (m *Machine) Err() error { <-m.done; return m.err }

// Stderr returns what QEMU printed on its standard error.
func (m *Machine) Stderr() string { return m.stderr.String() }

// Stop kills QEMU and waits for it.
func (m *Machine) Stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.done
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ErrExited reports that QEMU exited while a line was awaited.
var ErrExited = errors.New("qemu exited")

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTicks = 100

// CPUTime is the CPU time QEMU has used so far (user + system). Under TCG
// it tracks the guest's work and, unlike wall time, barely moves with load
// from other processes on the host.
func (m *Machine) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("qemu cpu time: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("qemu cpu time: malformed stat")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("qemu cpu time: short stat")
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("qemu cpu time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
