// Package services defines the services machined supervises (apid on every
// configured node, trustd on control planes) and the Observer that turns
// the supervisor's state changes into Service resources and events.
package services

import (
	"log/slog"
	"path/filepath"

	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/process"
	"github.com/plinth-os/plinth/internal/supervisor/reaper"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// IDs of the services.
const (
	APID   = "apid"
	Trustd = "trustd"
)

// Options describe how services are run.
type Options struct {
	// Root is the node's root directory (machined's --root).
	Root string
	// Binary is the multi-call plinth binary that runs apid and trustd.
	Binary string
	// Env returns the environment of every service, read at each start;
	// nil means an empty environment.
	Env func() []string
	// ExtraArgs are extra arguments of a service, by service id.
	ExtraArgs map[string][]string
	// Reaper collects exit statuses when machined reaps orphans.
	Reaper *reaper.Reaper
	Logger *slog.Logger
}

// APICertFiles are apid's certificate files under Root.
func APICertFiles(root string) []string {
	dir := filepath.Join(root, constants.SystemSecretsDir, "api")
	return []string{filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")}
}

// TrustdFiles are trustd's inputs under Root, besides the API certificates.
func TrustdFiles(root string) []string {
	dir := filepath.Join(root, constants.SystemSecretsDir)
	return []string{filepath.Join(dir, "os-ca.crt"), filepath.Join(dir, "os-ca.key"), filepath.Join(dir, "trustd.token")}
}

// ForMachineType returns the services of a node of machine type typ.
func ForMachineType(typ string, opts Options) []supervisor.Service {
	out := []supervisor.Service{newProgram(APID, opts, APICertFiles(opts.Root))}
	if typ == v1alpha1.TypeControlPlane {
		out = append(out, newProgram(Trustd, opts, append(TrustdFiles(opts.Root), APICertFiles(opts.Root)...)))
	}
	return out
}

// program is a service run as `<binary> <id> --root <root>`, once its
// files exist, restarted whenever it ends.
type program struct {
	id    string
	opts  Options
	files []string
}

func newProgram(id string, opts Options, files []string) *program {
	return &program{id: id, opts: opts, files: files}
}

// ID implements supervisor.Service.
func (p *program) ID() string { return p.id }

// DependsOn implements supervisor.Service.
func (p *program) DependsOn() []string { return nil }

// Condition waits for the program's certificate files.
func (p *program) Condition() supervisor.Condition {
	conds := make([]supervisor.Condition, len(p.files))
	for i, f := range p.files {
		conds[i] = supervisor.WaitForFile(f)
	}
	return supervisor.WaitForAll(conds...)
}

// Runner implements supervisor.Service.
func (p *program) Runner() (supervisor.Runner, error) {
	args := append([]string{p.id, "--root", p.opts.Root}, p.opts.ExtraArgs[p.id]...)
	var env []string
	if p.opts.Env != nil {
		env = p.opts.Env()
	}
	return process.New(process.Options{
		Name:   p.id,
		Path:   p.opts.Binary,
		Args:   args,
		Env:    env,
		Reaper: p.opts.Reaper,
		Logger: p.opts.Logger,
	}), nil
}

// RestartSettings implements supervisor.Restarter: always restart.
func (p *program) RestartSettings() supervisor.RestartSettings {
	return supervisor.RestartSettings{Policy: supervisor.RestartAlways}
}
