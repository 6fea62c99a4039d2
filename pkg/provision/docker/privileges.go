package docker

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// Privileges is how node containers get the rights of a machine: either
// --privileged, or, on hosts where that fails, every capability of
// Docker's "ALL" minus those the host's bounding set lacks, with seccomp
// and AppArmor off and every device allowed by the device cgroup
// (docs/docker.md explains the choice).
type Privileges struct {
	// Privileged runs nodes with --privileged.
	Privileged bool `json:"privileged"`
	// CapDrop are the capabilities removed from "ALL" when not privileged.
	CapDrop []string `json:"capDrop,omitempty"`
	// Reason says why, for progress lines and docs.
	Reason string `json:"reason"`
}

// Mode names the decision: "privileged" or "capabilities".
func (p Privileges) Mode() string {
	if p.Privileged {
		return "privileged"
	}
	return "capabilities"
}

// capNames are the Linux capabilities by number, as Docker names them
// (without the CAP_ prefix).
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// missingCaps returns the names of the capabilities up to lastCap that
// the bounding set bnd lacks.
func missingCaps(bnd uint64, lastCap int) []string {
	var out []string
	for i := 0; i <= lastCap && i < len(capNames) && i < 64; i++ {
		if bnd&(1<<uint(i)) == 0 {
			out = append(out, "CAP_"+capNames[i])
		}
	}
	return out
}

// parseCapBnd reads the CapBnd line of a /proc/PID/status file.
func parseCapBnd(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("CapBnd %q: %w", strings.TrimSpace(v), err)
			}
			return bnd, nil
		}
	}
	return 0, fmt.Errorf("no CapBnd line")
}

// hostCaps reads the bounding set of this process, which on a local
// daemon's host is the daemon's too, and the kernel's last capability.
func hostCaps(procRoot string) (bnd uint64, lastCap int, err error) {
	status, err := os.ReadFile(procRoot + "/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read capability bounding set: %w", err)
	}
	if bnd, err = parseCapBnd(string(status)); err != nil {
		return 0, 0, fmt.Errorf("read capability bounding set: %w", err)
	}
	lastCap = len(capNames) - 1
	if b, err := os.ReadFile(procRoot + "/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			lastCap = n
		}
	}
	return bnd, lastCap, nil
}

// unknownCap matches Docker's refusal of a capability name it does not
// know ("invalid CapDrop: unknown capability: \"CAP_BPF\"").
var unknownCap = regexp.MustCompile(`unknown capability: "?(CAP_[A-Z_]+)"?`)

// probeImage is run by the probes: it exits at once.
var probeCommand = []string{"/usr/bin/plinth", "version"}

// probe runs a throwaway container of image with hc and reports whether
// it started and exited 0; the error is the daemon's refusal.
func (p *Provisioner) probe(ctx context.Context, image string, hc engine.HostConfig) error {
	hc.NetworkMode = "none"
	id, err := p.engine.ContainerCreate(ctx, "", engine.ContainerSpec{
		Image: image, Entrypoint: probeCommand,
		Labels:     map[string]string{LabelProbe: "true"},
		HostConfig: hc,
	})
	if err != nil {
		return err
	}
	defer func() { _ = p.engine.ContainerRemove(context.WithoutCancel(ctx), id) }()
	if err := p.engine.ContainerStart(ctx, id); err != nil {
		return err
	}
	code, err := p.engine.ContainerWait(ctx, id)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s exited with status %d", strings.Join(probeCommand, " "), code)
	}
	return nil
}

// detectPrivileges decides how to run nodes on this daemon: --privileged
// when a privileged probe container runs, else "ALL" capabilities minus
// those missing from the host's bounding set (names Docker does not know
// are left out of the drop list, since "ALL" cannot include them either).
func (p *Provisioner) detectPrivileges(ctx context.Context, image string) (Privileges, error) {
	perr := p.probe(ctx, image, engine.HostConfig{Privileged: true})
	if perr == nil {
		return Privileges{Privileged: true, Reason: "--privileged works on this Docker host"}, nil
	}
	if ctx.Err() != nil {
		return Privileges{}, ctx.Err()
	}
	bnd, lastCap, err := p.hostCaps()
	if err != nil {
		return Privileges{}, fmt.Errorf("--privileged fails on this Docker host (%v) and %w", perr, err)
	}
	drop := missingCaps(bnd, lastCap)
	for range len(capNames) {
		hc := explicitHostConfig(drop)
		err = p.probe(ctx, image, hc)
		if err == nil {
			return Privileges{CapDrop: drop, Reason: fmt.Sprintf(
				"--privileged fails on this Docker host (%v): the host's capability bounding set lacks %s",
				daemonCause(perr), strings.Join(orNone(drop), ", "))}, nil
		}
		m := unknownCap.FindStringSubmatch(err.Error())
		if m == nil || !slices.Contains(drop, m[1]) {
			break
		}
		drop = slices.DeleteFunc(drop, func(c string) bool { return c == m[1] })
	}
	return Privileges{}, fmt.Errorf("node containers cannot get the privileges they need on this Docker host: "+
		"--privileged fails (%v) and so do explicit capabilities (%v)", daemonCause(perr), err)
}

// explicitHostConfig is the privileged-like configuration without
// --privileged (see Privileges).
func explicitHostConfig(drop []string) engine.HostConfig {
	return engine.HostConfig{
		CapAdd:            []string{"ALL"},
		CapDrop:           drop,
		SecurityOpt:       []string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"},
		DeviceCgroupRules: []string{"a *:* rwm"},
		MaskedPaths:       []string{},
		ReadonlyPaths:     []string{},
	}
}

// daemonCause shortens a daemon error to its cause: the first line, after
// the runtime's "container process:" preamble, without the trailing
// ": unknown (HTTP 500)".
func daemonCause(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if i := strings.LastIndex(s, "container process: "); i >= 0 {
		s = s[i+len("container process: "):]
	}
	s = httpSuffix.ReplaceAllString(s, "")
	return strings.TrimSuffix(s, ": unknown")
}

var httpSuffix = regexp.MustCompile(` \(HTTP \d+\)$`)

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"nothing"}
	}
	return s
}
