// Package initapp is `plinth init`, PID 1 of a Plinth node until it execs
// machined. The kernel runs it as /init from the initramfs; it
//
//  1. mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run, /tmp
//     and the cgroup2 hierarchy;
//  2. sets the kernel's memory behaviour (memory.go; plinth.memtune=0
//     keeps the defaults) and loads the kernel modules of /lib/modules/load.list in order;
//  3. attaches /rootfs.sqsh to a read-only loop device and mounts it as
//     squashfs on /newroot;
//  4. makes the writable places: /system and /var as tmpfs, /etc as an
//     overlay (the squashfs /etc below, an upper layer in
//     /system/overlay/etc) so machined can rewrite hosts, hostname and
//     resolv.conf in place;
//  5. moves /dev, /proc, /sys, /run and /tmp into the new root, frees the
//     initramfs's files, switches root (chdir, mount --move . /, chroot .);
//  6. execs /usr/bin/machined --mode metal --root /.
//
// Every step prints its duration on the console. A failure or a panic
// prints the error and reboots after 10 seconds: init never hangs silently
// and never exits (which would panic the kernel).
package initapp

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/layout"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

// rebootDelay is how long a fatal error stays on the console.
const rebootDelay = 10 * time.Second

// Main runs init. Arguments are ignored: the kernel passes init the
// command-line words it does not understand.
func Main(args []string) int {
	if pid := os.Getpid(); pid != 1 {
		fmt.Fprintf(os.Stderr, "plinth init: refusing to run as process %d: init is PID 1 of a Plinth node, started by the kernel from the initramfs\n", pid)
		return 1
	}
	con := newConsole()
	defer func() {
		if r := recover(); r != nil {
			fatal(con, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	err := run(linuxSystem(), con.println)
	// run returns only on failure: on success machined replaced init.
	fatal(con, err)
	return 1
}

// run executes the boot sequence and then machined.
func run(sys system, println func(string)) error {
	tl := NewTimeline(sys.uptime, println, version.Tag)
	b := &boot{sys: sys, warn: func(s string) { println(Prefix + "warning: " + s) }}
	for _, s := range b.steps() {
		detail, err := s.run()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		tl.Step(s.name, detail)
	}
	tl.Exec(layout.Machined)
	if err := sys.exec(machinedArgv[0], machinedArgv, machinedEnv); err != nil {
		return fmt.Errorf("exec %s: %w", strings.Join(machinedArgv, " "), err)
	}
	return fmt.Errorf("exec %s returned", machinedArgv[0])
}

// fatal prints err and reboots after rebootDelay; it never returns.
func fatal(con *console, err error) {
	con.println(fmt.Sprintf("%sFATAL: %v", Prefix, err))
	con.println(fmt.Sprintf("%srebooting in %s", Prefix, rebootDelay))
	time.Sleep(rebootDelay)
	reboot()
	for {
		time.Sleep(time.Hour) // reboot failed: PID 1 must not exit
	}
}
