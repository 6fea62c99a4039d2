//go:build linux

// Package kmod loads kernel modules from files with finit_module(2). It
// does no dependency resolution: callers load modules in an order where
// each comes after its dependencies (see pkg/imager/layout's load list).
package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Result says what Load did with one module.
type Result int

// Load results.
const (
	// Loaded means the module was inserted.
	Loaded Result = iota
	// AlreadyLoaded means the kernel has the module already (loaded or
	// built in).
	AlreadyLoaded
)

// Name returns the kernel's name of a module file: base name without
// ".ko", '-' written as '_'.
func Name(path string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(path), ".ko"), "-", "_")
}

// IsLoaded reports whether /sys/module lists the module (loaded, or built
// in with parameters). sysModule is usually "/sys/module".
func IsLoaded(sysModule, name string) bool {
	_, err := os.Stat(filepath.Join(sysModule, name))
	return err == nil
}

// Load inserts the uncompressed module file at path with params ("" for
// none). A module the kernel already has is not an error.
func Load(path, params string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("load module %s: %w", Name(path), err)
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), params, 0)
	switch {
	case err == nil:
		return Loaded, nil
	case errors.Is(err, unix.EEXIST):
		return AlreadyLoaded, nil
	}
	return 0, fmt.Errorf("load module %s from %s: %w", Name(path), path, err)
}

// idleNice is the nice value LoadIdle runs at: the lowest CPU priority.
const idleNice = 19

// LoadIdle is Load with the calling thread at the lowest CPU priority
// (nice 19) for the call: reading the module from a compressed root file
// system and linking it into the kernel run in this thread, and on a
// node with one CPU they would otherwise compete with the start of the
// API. The thread's priority is restored afterwards; where that fails the
// goroutine stays on its thread, so the low priority never spreads to
// other goroutines.
func LoadIdle(path, params string) (Result, error) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	// getpriority(2) returns 20 - nice.
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil || unix.Setpriority(unix.PRIO_PROCESS, tid, idleNice) != nil {
		runtime.UnlockOSThread()
		return Load(path, params)
	}
	res, loadErr := Load(path, params)
	if unix.Setpriority(unix.PRIO_PROCESS, tid, 20-raw) == nil {
		runtime.UnlockOSThread()
	}
	return res, loadErr
}
