package process

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Dropping capabilities from a child's bounding set needs code that runs in
// the child between fork and exec. Go offers no such hook without cgo
// (SysProcAttr.AmbientCaps can only add capabilities), so the runner starts
// this very binary through /proc/self/exe with argv[0] set to trampolineName:
//
//	/proc/self/exe  argv = [trampolineName, <mask in hex>, <path>, <args>...]
//
// The package's init function recognises that argv[0] before main runs in
// any binary that links this package (machined, and the test binaries),
// drops the capabilities on the thread that will exec, and execs <path> with
// argv [<path>, <args>...] and the environment it was given. The target
// never sees the trampoline: its PID, cgroup, working directory, process
// group and file descriptors are those the runner set up.
const trampolineName = "plinth-capdrop"

// selfExe is the running binary, whatever it is called on disk.
const selfExe = "/proc/self/exe"

func init() {
	if len(os.Args) < 3 || os.Args[0] != trampolineName {
		return
	}
	// Capability sets belong to a thread; the one that drops must exec.
	runtime.LockOSThread()
	err := dropAndExec(os.Args[1], os.Args[2], os.Args[2:], os.Environ())
	fmt.Fprintf(os.Stderr, "%s: %v\n", trampolineName, err)
	os.Exit(127)
}

// trampolineArgv is the argv that makes this binary drop mask and exec path.
func trampolineArgv(mask uint64, path string, args []string) []string {
	argv := []string{trampolineName, strconv.FormatUint(mask, 16), path}
	return append(argv, args...)
}

// dropAndExec removes the capabilities in maskHex from the bounding and
// inheritable sets of the calling thread (which lowers the ambient set too)
// and execs path. It returns only on failure.
func dropAndExec(maskHex, path string, argv, env []string) error {
	mask, err := strconv.ParseUint(maskHex, 16, 64)
	if err != nil {
		return fmt.Errorf("parse capability mask: %w", err)
	}
	for c := range 64 {
		if mask&(1<<c) == 0 {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err != nil && err != unix.EINVAL { // EINVAL: unknown to this kernel
			return fmt.Errorf("drop %s from the bounding set: %w", Capability(c), err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	data[0].Inheritable &^= uint32(mask)
	data[1].Inheritable &^= uint32(mask >> 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("lower inheritable capabilities: %w", err)
	}
	if err := unix.Exec(path, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}
