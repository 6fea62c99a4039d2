package initapp

import (
	"fmt"
	"strings"

	"github.com/plinth-os/plinth/internal/sys/mount"
	"golang.org/x/sys/unix"
)

// The kernel's memory settings init changes before anything big runs
// (docs/decisions/0003-node-memory.md).
const (
	// thpEnabled selects when anonymous memory gets 2 MiB pages. Debian's
	// kernel says "always": every Go heap arena a program touches then
	// becomes resident 2 MiB at a time. "madvise" leaves huge pages to
	// the programs that ask for them.
	thpEnabled = "/sys/kernel/mm/transparent_hugepage/enabled"
	// debugfs is where fault_around_bytes lives; it is mounted only for
	// the write and detached again.
	debugfs = "/sys/kernel/debug"
	// faultAround is how much of a file the kernel maps around a page
	// fault when the pages are already cached (64 KiB by default). One
	// page means a program's RSS counts the pages it touched, not their
	// neighbours: the big static binaries (kube, containerd, plinth) touch
	// code spread over their whole text while they initialise.
	faultAround = debugfs + "/fault_around_bytes"
	// memtuneArg on the kernel command line as plinth.memtune=0 keeps the
	// kernel's defaults.
	memtuneArg = "plinth.memtune"
)

// tuneMemory applies the node's memory settings. A setting the kernel
// does not offer is a warning: the node runs, only bigger.
func (b *boot) tuneMemory() (string, error) {
	cmdline, err := b.sys.readFile("/proc/cmdline")
	if err != nil {
		b.warn(fmt.Sprintf("read /proc/cmdline: %v", err))
	}
	for _, f := range strings.Fields(string(cmdline)) {
		if f == memtuneArg+"=0" {
			return "kernel defaults (" + memtuneArg + "=0)", nil
		}
	}
	var done []string
	if err := b.sys.writeFile(thpEnabled, []byte("madvise\n")); err != nil {
		b.warn(fmt.Sprintf("write %s: %v", thpEnabled, err))
	} else {
		done = append(done, "transparent huge pages on madvise")
	}
	if err := b.setFaultAround(); err != nil {
		b.warn(err.Error())
	} else {
		done = append(done, fmt.Sprintf("fault-around %d bytes", unix.Getpagesize()))
	}
	if len(done) == 0 {
		return "kernel defaults (nothing could be set)", nil
	}
	return strings.Join(done, ", "), nil
}

// setFaultAround sets fault_around_bytes to one page through a debugfs
// mounted for the purpose, and detaches it again: a node keeps no
// debugfs.
func (b *boot) setFaultAround() error {
	p := mount.Point{Source: "debugfs", Target: debugfs, FSType: "debugfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}
	if err := b.sys.mount(p); err != nil {
		return fmt.Errorf("mount debugfs for fault_around_bytes: %w", err)
	}
	werr := b.sys.writeFile(faultAround, fmt.Appendf(nil, "%d\n", unix.Getpagesize()))
	if err := b.sys.unmount(debugfs); err != nil {
		return fmt.Errorf("detach debugfs: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", faultAround, werr)
	}
	return nil
}
