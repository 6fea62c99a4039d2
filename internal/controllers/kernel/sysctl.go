// Package kernel holds the controller of kernel parameters (sysctls).
package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
)

// Defaults are Plinth's kernel parameters, set before machine.sysctls
// (which may override any of them):
//
//   - hardening: kernel pointers and the kernel log hidden from
//     unprivileged users, ptrace limited to descendants, hard- and
//     symlinks protected in sticky directories; strict reverse-path
//     filtering, no ICMP redirects accepted or sent, SYN cookies;
//   - Kubernetes: IPv4 forwarding (pods route through the node), and
//     the values kubelet checks with protectKernelDefaults (overcommit
//     always, no panic on OOM, reboot 10 s after a panic, panic on oops,
//     large key quotas), so kubelet never has to change the kernel itself.
//
// A key the kernel command line sets (panic=, sysctl.<key>=) keeps the
// command line's value: see SysctlController.KeepDefaults.
//
// Left out on purpose: one-way switches (kernel.unprivileged_bpf_disabled=1,
// kernel.kexec_load_disabled, which upgrades may need) and IPv6
// forwarding, which stops the acceptance of router advertisements.
var Defaults = map[string]string{
	"kernel.kptr_restrict":                   "1",
	"kernel.dmesg_restrict":                  "1",
	"kernel.yama.ptrace_scope":               "1",
	"fs.protected_hardlinks":                 "1",
	"fs.protected_symlinks":                  "1",
	"net.ipv4.conf.all.rp_filter":            "1",
	"net.ipv4.conf.default.rp_filter":        "1",
	"net.ipv4.conf.all.accept_redirects":     "0",
	"net.ipv4.conf.default.accept_redirects": "0",
	"net.ipv4.conf.all.send_redirects":       "0",
	"net.ipv6.conf.all.accept_redirects":     "0",
	"net.ipv6.conf.default.accept_redirects": "0",
	"net.ipv4.tcp_syncookies":                "1",
	"net.ipv4.ip_forward":                    "1",
	"vm.overcommit_memory":                   "1",
	"vm.panic_on_oom":                        "0",
	"kernel.panic":                           "10",
	"kernel.panic_on_oops":                   "1",
	"kernel.keys.root_maxkeys":               "1000000",
	"kernel.keys.root_maxbytes":              "25000000",
}

// Param is one kernel parameter to set.
type Param struct {
	// Key is the dotted name.
	Key string
	// Value is written as is.
	Value string
	// Origin is kernel.OriginDefault or kernel.OriginConfig.
	Origin string
	// Skipped: a host-wide key in container mode, never written.
	Skipped bool
}

// Params merges Defaults (but those in keep) and machine.sysctls, sorted
// by key. In container mode only net.* keys (which belong to the node's
// network namespace) are set: every other key would change the host's
// kernel, so it is skipped.
func Params(sysctls map[string]string, keep []string, mode validation.Mode) []Param {
	var out []Param
	for k, v := range Defaults {
		if _, over := sysctls[k]; !over && !slices.Contains(keep, k) {
			out = append(out, Param{Key: k, Value: v, Origin: kernel.OriginDefault})
		}
	}
	for k, v := range sysctls {
		out = append(out, Param{Key: k, Value: v, Origin: kernel.OriginConfig})
	}
	for i := range out {
		out[i].Skipped = mode == validation.ModeContainer && !strings.HasPrefix(out[i].Key, "net.")
	}
	slices.SortFunc(out, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Path returns the file of key under procRoot/sys: dots separate
// directories, unless the key uses slashes (for names holding dots, like
// net/ipv4/conf/eth0.100/rp_filter).
func Path(procRoot, key string) string {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join(procRoot, "sys", filepath.Clean("/"+key))
}

// SysctlController writes Params to <Root>/proc/sys and reports each as a
// KernelParamStatus (ID: the key). A key the kernel lacks or refuses is
// reported with its error and logged once; it is tried again when the
// config changes. Skipped keys are reported and logged once. Keys that
// leave the config keep their value in the kernel (only their status
// goes); values already written are not written again.
type SysctlController struct {
	// Root is the file-system root ("/" on a node).
	Root string
	// Mode is metal or container.
	Mode validation.Mode
	// KeepDefaults are defaults not applied because the kernel command
	// line set them (panic=, sysctl.*=; see cmdline.SysctlKeys).
	KeepDefaults []string

	logged  map[string]string // key → what was last logged about it
	written map[string]string // key → value written
}

// Name implements runtime.Controller.
func (*SysctlController) Name() string { return "kernel.SysctlController" }

// Inputs implements runtime.Controller.
func (*SysctlController) Inputs() []runtime.Input { return []runtime.Input{read.ConfigInput} }

// Outputs implements runtime.Controller.
func (*SysctlController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: kernel.KernelParamStatusType}}
}

// Run implements runtime.Controller.
func (c *SysctlController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.logged == nil {
		c.logged, c.written = map[string]string{}, map[string]string{}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		m, err := read.MachineConfig(ctx, r)
		if err != nil {
			return err
		}
		var sysctls map[string]string
		if m != nil && m.Machine != nil {
			sysctls = m.Machine.Sysctls
		}
		tr := runtime.NewOutputTracker(r, kernel.NamespaceName, kernel.KernelParamStatusType)
		for _, p := range Params(sysctls, c.KeepDefaults, c.Mode) {
			status := c.apply(p, logger)
			if err := tr.Modify(ctx, kernel.NewKernelParamStatus(p.Key), func(res resource.Resource) error {
				*res.(*kernel.KernelParamStatus).TypedSpec() = status
				return nil
			}); err != nil {
				return fmt.Errorf("kernel param status %s: %w", p.Key, err)
			}
		}
		if err := tr.Cleanup(ctx); err != nil {
			return err
		}
	}
}

// apply writes one parameter unless it is skipped or written already.
func (c *SysctlController) apply(p Param, logger *slog.Logger) kernel.KernelParamStatusSpec {
	status := kernel.KernelParamStatusSpec{Key: p.Key, Value: p.Value, Origin: p.Origin, Skipped: p.Skipped}
	if p.Skipped {
		status.Error = "not set in container mode: the key is host-wide"
		c.logOnce(logger, p.Key, "skipped", slog.LevelInfo, "host-wide kernel parameter skipped in container mode", "key", p.Key)
		return status
	}
	if c.written[p.Key] == p.Value {
		status.Applied = true
		return status
	}
	if err := write(Path(filepath.Join(c.Root, "proc"), p.Key), p.Value); err != nil {
		status.Error = err.Error()
		level := slog.LevelWarn
		if c.Mode == validation.ModeContainer {
			level = slog.LevelInfo // container runtimes often mount /proc/sys read-only
		}
		c.logOnce(logger, p.Key, p.Value+err.Error(), level, "kernel parameter not set", "key", p.Key, "value", p.Value, "error", err)
		return status
	}
	c.written[p.Key] = p.Value
	delete(c.logged, p.Key)
	status.Applied = true
	return status
}

func (c *SysctlController) logOnce(logger *slog.Logger, key, what string, level slog.Level, msg string, args ...any) {
	if c.logged[key] == what {
		return
	}
	c.logged[key] = what
	logger.Log(context.Background(), level, msg, args...)
}

// write replaces the content of a /proc/sys file; it never creates one.
func write(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("set %s: no such kernel parameter", path)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", path, err)
	}
	_, werr := f.WriteString(value)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("set %s to %q: %w", path, value, werr)
	}
	return nil
}
