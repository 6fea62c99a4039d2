package machined

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// kubeletSysctls are the kernel settings kubelet checks at start, with the
// values it wants (vm.overcommit_memory, panics, key quotas). A kubelet
// that finds them different writes them, and in a container those files
// are the host's.
var kubeletSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// sysctlShadowDir holds the files bind-mounted over those /proc/sys entries.
const sysctlShadowDir = constants.SystemRunDir + "/kubelet-sysctls"

// hostMounter is the part of the mount system calls the container-mode
// preparation uses (a fake in tests).
type hostMounter interface {
	Mount(source, target, fstype string, flags uintptr, data string) error
}

type sysMounter struct{}

func (sysMounter) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

// prepareNodeHost readies a node's own mount namespace for containerd and
// kubelet. It acts only as PID 1 with root "/" (never on a host running
// machined by hand, never in tests): "/" becomes recursively shared (pod
// volumes with mount propagation), and in container mode /sys and the
// cgroup mounts Docker made read-only become writable (kubelet and runc
// create cgroups) and kubelet's kernel settings are shadowed.
func (m *machined) prepareNodeHost() {
	if m.opts.Root != "/" || os.Getpid() != 1 {
		return
	}
	mnt := sysMounter{}
	if err := mnt.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		m.logger.Warn("mount propagation of / not shared", "error", err)
	}
	if m.opts.Mode != validation.ModeContainer {
		return
	}
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		m.logger.Warn("read-only mounts not checked", "error", err)
	} else {
		for _, p := range remountTargets(infos) {
			if err := remountWritable(mnt, p.Mountpoint, p.Options); err != nil {
				m.logger.Warn("mount left read-only", "path", p.Mountpoint, "error", err)
			}
		}
	}
	if err := shadowSysctls(mnt, "/", m.opts.ProcRoot); err != nil {
		m.logger.Warn("kernel settings of kubelet not shadowed", "error", err)
		return
	}
	m.logger.Info("container node prepared for kubelet", "shadowed", len(kubeletSysctls))
}

// remountTargets returns the read-only mounts of /sys and below
// /sys/fs/cgroup, parents first.
func remountTargets(infos []*mountinfo.Info) []*mountinfo.Info {
	var out []*mountinfo.Info
	for _, in := range infos {
		p := in.Mountpoint
		if p != "/sys" && p != "/sys/fs/cgroup" && !strings.HasPrefix(p, "/sys/fs/cgroup/") {
			continue
		}
		if slices.Contains(strings.Split(in.Options, ","), "ro") {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Mountpoint) < len(out[j].Mountpoint) })
	return out
}

// remountWritable clears the read-only flag of the mount at path, keeping
// its other per-mount flags (a bind remount, then a superblock one).
func remountWritable(mnt hostMounter, path, options string) error {
	var flags uintptr
	for _, o := range strings.Split(options, ",") {
		switch o {
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "relatime":
			flags |= unix.MS_RELATIME
		case "noatime":
			flags |= unix.MS_NOATIME
		}
	}
	err := mnt.Mount("", path, "", unix.MS_REMOUNT|unix.MS_BIND|flags, "")
	if err == nil {
		return nil
	}
	if err2 := mnt.Mount("", path, "", unix.MS_REMOUNT|flags, ""); err2 != nil {
		return errors.Join(err, err2)
	}
	return nil
}

// shadowSysctls writes each of kubeletSysctls to a file under
// root/sysctlShadowDir and bind-mounts it over procRoot/sys/<key>, so
// kubelet reads the values it wants and a write would land in the file.
// Keys that already hold their value are left alone (a re-executed
// machined finds its earlier shadows).
func shadowSysctls(mnt hostMounter, root, procRoot string) error {
	dir := filepath.Join(root, sysctlShadowDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("shadow sysctls: %w", err)
	}
	keys := make([]string, 0, len(kubeletSysctls))
	for k := range kubeletSysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		target := filepath.Join(procRoot, "sys", k)
		if cur, err := os.ReadFile(target); err == nil && strings.TrimSpace(string(cur)) == kubeletSysctls[k] {
			continue // already what kubelet wants (or shadowed by a previous run)
		}
		src := filepath.Join(dir, strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(src, []byte(kubeletSysctls[k]+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("shadow %s: %w", k, err))
			continue
		}
		if err := mnt.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			errs = append(errs, fmt.Errorf("shadow %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}
