package services

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/cgroup"
	"github.com/plinth-os/plinth/internal/supervisor/process"
	"github.com/plinth-os/plinth/internal/supervisor/reaper"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// RunOptions say how services asked for by ServiceConfig resources run on
// this node.
type RunOptions struct {
	// Root is the node's root directory; node paths (program, wait files,
	// certificates) are joined to it when it is not "/".
	Root string
	// Cgroups, when set, gives each service that sets MemoryMax its own
	// group with that limit. Other services stay in machined's group:
	// a group is emptied when its service ends, and containerd's shims
	// (the pods) must outlive a containerd restart.
	Cgroups *cgroup.Manager
	// Reaper collects exit statuses when machined reaps orphans.
	Reaper *reaper.Reaper
	// Logger receives the processes' start and exit records.
	Logger *slog.Logger
}

// configured is a supervisor.Service built from a ServiceConfig spec and
// the machine environment it was loaded with. It is immutable: a changed
// spec is a new configured service.
type configured struct {
	id   string
	spec rtres.ServiceConfigSpec
	env  []string // the machine environment, KEY=VALUE, sorted
	opts RunOptions
}

var (
	_ supervisor.Restarter     = (*configured)(nil)
	_ supervisor.HealthChecker = checked{}
)

// nodePath joins a node path to the root.
func (c *configured) nodePath(p string) string {
	if p == "" || c.opts.Root == "" || c.opts.Root == "/" {
		return p
	}
	return filepath.Join(c.opts.Root, p)
}

// ID implements supervisor.Service.
func (c *configured) ID() string { return c.id }

// DependsOn implements supervisor.Service.
func (c *configured) DependsOn() []string { return slices.Clone(c.spec.DependsOn) }

// Condition waits for the spec's WaitFiles, then its WaitURL.
func (c *configured) Condition() supervisor.Condition {
	var conds []supervisor.Condition
	for _, f := range c.spec.WaitFiles {
		conds = append(conds, supervisor.WaitForFile(c.nodePath(f)))
	}
	if w := c.spec.WaitURL; w != nil {
		conds = append(conds, c.waitURL(w))
	}
	if len(conds) == 0 {
		return nil
	}
	return supervisor.WaitForAll(conds...)
}

// waitURLInterval spaces the GETs of a WaitURL condition.
var waitURLInterval = 500 * time.Millisecond

// waitURL is the condition of a WaitURL: UnlessFile exists, or URL
// answered 2xx.
func (c *configured) waitURL(w *rtres.WaitURL) supervisor.Condition {
	var last time.Time
	return supervisor.WaitForFunc(w.URL+" to answer", func(ctx context.Context) (bool, error) {
		if w.UnlessFile != "" {
			if _, err := os.Stat(c.nodePath(w.UnlessFile)); err == nil {
				return true, nil
			}
		}
		if time.Since(last) < waitURLInterval {
			return false, nil
		}
		last = time.Now()
		var token string
		if w.BearerTokenFile != "" {
			b, err := os.ReadFile(c.nodePath(w.BearerTokenFile))
			if err != nil {
				return false, nil // not written yet
			}
			token = strings.TrimSpace(string(b))
		}
		hc := &rtres.HealthCheck{URL: w.URL, CAFile: w.CAFile, CertFile: w.CertFile, KeyFile: w.KeyFile}
		return c.get(ctx, hc, token) == nil, nil
	})
}

// Runner implements supervisor.Service: the machine environment first,
// the spec's Env after it (a spec variable wins).
func (c *configured) Runner() (supervisor.Runner, error) {
	if len(c.spec.Args) == 0 {
		return nil, fmt.Errorf("service %s: %w", c.id, errNoProgram)
	}
	program := c.nodePath(c.spec.Args[0])
	if _, err := os.Stat(program); errors.Is(err, fs.ErrNotExist) {
		// An image built without this program (tests, a trimmed image).
		return nil, fmt.Errorf("%w: %s is not on this node", supervisor.ErrSkip, c.spec.Args[0])
	}
	env := append(slices.Clone(c.env), c.spec.Env...)
	var groups *cgroup.Manager
	if c.spec.MemoryMax > 0 {
		groups = c.opts.Cgroups
	}
	return process.New(process.Options{
		Name:        c.id,
		Path:        program,
		Args:        slices.Clone(c.spec.Args[1:]),
		Env:         dedupEnv(env),
		Dir:         c.nodePath(c.spec.WorkingDir),
		Cgroups:     groups,
		Limits:      cgroup.Limits{MemoryMax: c.spec.MemoryMax},
		OOMScoreAdj: c.spec.OOMScoreAdj,
		Reaper:      c.opts.Reaper,
		Logger:      c.opts.Logger,
	}), nil
}

// RestartSettings implements supervisor.Restarter.
func (c *configured) RestartSettings() supervisor.RestartSettings {
	return supervisor.RestartSettings{Policy: restartPolicy(c.spec.Restart)}
}

// restartPolicy parses ServiceConfigSpec.Restart; unknown values mean
// always (the spec's default).
func restartPolicy(s string) supervisor.RestartPolicy {
	switch s {
	case "on-failure":
		return supervisor.RestartOnFailure
	case "never":
		return supervisor.RestartNever
	}
	return supervisor.RestartAlways
}

// checked is a configured service with a health check: dependents wait
// for it to be healthy.
type checked struct{ *configured }

// HealthSettings implements supervisor.HealthChecker.
func (c checked) HealthSettings() supervisor.HealthSettings {
	s := supervisor.HealthSettings{}
	if hc := c.spec.HealthCheck; hc != nil && hc.IntervalSeconds > 0 {
		s.Period = time.Duration(hc.IntervalSeconds) * time.Second
	}
	return s
}

// HealthCheck implements supervisor.HealthChecker: a TCP or Unix socket
// connect, or an HTTP(S) GET.
func (c checked) HealthCheck(ctx context.Context) error {
	hc := c.spec.HealthCheck
	network, addr := "tcp", hc.TCP
	if hc.Socket != "" {
		network, addr = "unix", c.nodePath(hc.Socket)
	}
	if addr != "" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
		return conn.Close()
	}
	return c.get(ctx, hc, "")
}

// get GETs the check's URL, with a bearer token when not empty; any 2xx
// answer is healthy.
func (c *configured) get(ctx context.Context, hc *rtres.HealthCheck, token string) error {
	tlsConfig, err := c.tlsConfig(hc)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hc.URL, nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health check: %s answered %s", hc.URL, resp.Status)
	}
	return nil
}

// tlsConfig builds the probe's TLS settings from the check's files, read
// at every probe (they may be rotated).
func (c *configured) tlsConfig(hc *rtres.HealthCheck) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: hc.Insecure} //nolint:gosec // asked for by the spec
	if hc.CAFile != "" {
		pem, err := os.ReadFile(c.nodePath(hc.CAFile))
		if err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA %s: no certificate", hc.CAFile)
		}
		cfg.RootCAs = pool
	}
	if hc.CertFile != "" || hc.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.nodePath(hc.CertFile), c.nodePath(hc.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// newService returns the supervisor.Service of a spec.
func newService(id string, spec rtres.ServiceConfigSpec, env []string, opts RunOptions) supervisor.Service {
	c := &configured{id: id, spec: spec, env: env, opts: opts}
	if hc := spec.HealthCheck; hc == nil || (hc.URL == "" && hc.TCP == "" && hc.Socket == "") {
		return c
	}
	return checked{c}
}

// dedupEnv keeps the last value of each variable, in first-seen order.
func dedupEnv(env []string) []string {
	idx := map[string]int{}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k := kv
		if i := strings.IndexByte(kv, '='); i >= 0 {
			k = kv[:i]
		}
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// errNoProgram is returned for a spec without Args.
var errNoProgram = errors.New("no program (args is empty)")
