package machined

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/controllers"
	"github.com/plinth-os/plinth/internal/sys/cgroup2"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/fetch"
	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/internal/sys/ntp"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"golang.org/x/sys/unix"
)

// configFetchTimeout is how long the boot waits for plinth.config=URL
// (while DHCP brings the network up) before it falls back to maintenance
// mode, where a config can still be applied.
const configFetchTimeout = 60 * time.Second

// metalSystem is what machined touches only as PID 1 on metal, where the
// kernel is the node's own: the network stack, the clock, the cgroup
// hierarchy and the kernel command line. Elsewhere (container mode, a
// machined started by hand or by tests) it is nil and none of it happens.
type metalSystem struct {
	netlink *netlink.Handle // nil when netlink could not be opened
	cmdline cmdline.Cmdline
	ip      *cmdline.IPConfig
}

// openMetal returns the metal system, or nil when machined is not PID 1
// on metal. Failures are logged: the node still boots to maintenance mode.
func (m *machined) openMetal() *metalSystem {
	if m.opts.Mode != validation.ModeMetal || os.Getpid() != 1 {
		return nil
	}
	s := &metalSystem{}
	var err error
	if s.cmdline, err = cmdline.Read(m.opts.ProcRoot); err != nil {
		m.logger.Warn("kernel command line unreadable", "error", err)
	}
	if s.ip, err = s.cmdline.IP(); err != nil {
		m.logger.Warn("kernel ip= argument ignored", "error", err)
	}
	if s.netlink, err = netlink.Open(); err != nil {
		m.logger.Error("netlink unavailable: the network is not configured", "error", err)
	}
	return s
}

func (s *metalSystem) close() {
	if s != nil && s.netlink != nil {
		s.netlink.Close()
	}
}

// addresses is the metal address source: netlink, else the interfaces.
func (s *metalSystem) addresses() func() ([]netip.Prefix, error) {
	if s == nil || s.netlink == nil {
		return nil
	}
	return s.netlink.NodeAddresses
}

// fillDeps gives the controllers the metal system.
func (s *metalSystem) fillDeps(d *controllers.Deps) {
	if s == nil {
		return
	}
	d.KernelIP = s.ip
	d.KernelSysctls = s.cmdline.SysctlKeys()
	d.NTPQuery = func(ctx context.Context, server string) (ntp.Response, error) {
		return ntp.Query(ctx, server, ntp.DefaultTimeout)
	}
	d.Clock = ntp.SystemClock{}
	d.LoadModule = func(path, params string) error { _, err := kmod.LoadIdle(path, params); return err }
	d.KernelRelease = kernelRelease()
	if s.netlink != nil {
		d.Netlink = s.netlink
		d.OpenDHCP = func(link string) (dhcp.Client, error) { return dhcp.Open(link, dhcp.Options{}) }
	}
}

// kernelRelease is uname -r ("" when uname fails).
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// prepareCgroups mounts cgroup2 (unless init did) and enables the
// controllers services need, before any service starts.
func (m *machined) prepareCgroups() {
	if m.metal == nil {
		return
	}
	mounted, enabled, err := cgroup2.Ensure(filepath.Join(m.opts.Root, cgroup2.DefaultMount), cgroup2.Wanted)
	if err != nil {
		m.logger.Warn("cgroup v2 not fully prepared: service limits may not apply", "error", err)
	}
	m.logger.Info("cgroup v2 ready", "mounted", mounted, "controllers", enabled)
}

// fetchConfig gets the config named by plinth.config=URL, retrying until
// configFetchTimeout; it returns nil (maintenance mode follows) when there
// is no such argument, the download fails or the config is invalid. A
// valid config is stored in STATE like an applied one.
func (m *machined) fetchConfig(ctx context.Context) *loaded {
	if m.metal == nil {
		return nil
	}
	url, err := m.metal.cmdline.ConfigURL()
	if err != nil {
		m.logger.Error("kernel argument ignored: entering maintenance mode", "error", err)
		return nil
	}
	if url == "" {
		return nil
	}
	m.logger.Info("fetching the machine config", "url", url, "timeout", configFetchTimeout)
	fctx, cancel := context.WithTimeout(ctx, configFetchTimeout)
	defer cancel()
	raw, err := fetch.Fetch(fctx, url, fetch.Options{OnError: func(attempt int, err error, wait time.Duration) {
		m.logger.Warn("machine config fetch failed, retrying", "attempt", attempt, "error", err, "retry_in", wait)
	}})
	if err != nil {
		m.logger.Error("no machine config from the kernel argument: entering maintenance mode", "error", err)
		m.publishConfig("config fetch failed: " + err.Error())
		return nil
	}
	cfg, warnings, err := apply.Parse(raw, m.opts.Mode)
	if err != nil {
		m.logger.Error("fetched machine config is invalid: entering maintenance mode", "url", url, "error", err)
		m.publishConfig("fetched config is invalid: " + err.Error())
		return nil
	}
	for _, w := range warnings {
		m.logger.Warn("machine config warning", "warning", w)
	}
	if err := m.store.Save(raw); err != nil {
		m.logger.Error("fetched machine config not stored", "error", err)
		return nil
	}
	m.publishConfig("config fetched from " + url)
	return &loaded{cfg: cfg, raw: raw}
}

// wipeState empties STATE (tmpfs today) on a metal reset: the machine id
// and every stored config go, so the node comes back as new.
func (m *machined) wipeState(context.Context) error {
	dir := m.path(constants.StateDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wipe %s: %w", dir, err)
		}
	}
	return nil
}
