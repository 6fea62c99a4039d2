// Package machined is the program that owns a Plinth node: PID 1 after
// init on metal, PID 1 of the container in container mode. It keeps the
// node's state as resources reconciled by controllers, runs the boot,
// reboot, shutdown, reset and apply-config sequences, supervises services
// (apid, trustd), and serves the node API on a Unix socket for apid, or,
// before the node has a config, over TLS in maintenance mode.
//
// Boot (phases as data, see sequences.go):
//
//	prepare ─▶ controllers ─▶ config ─▶ maintenance ─▶ activate ─▶ services
//	                          (promote    (only when no   (MachineConfig
//	                           staged,     valid config:   resource)
//	                           load,       serve TLS, wait
//	                           validate)   for an apply)
package machined

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/plinth-os/plinth/internal/app/machined/power"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// Options configure Run.
type Options struct {
	// Root is the directory node paths are resolved under ("/" on a node).
	Root string
	// Mode is metal or container.
	Mode validation.Mode
	// MaintenanceListen is the maintenance server's address (":50000").
	MaintenanceListen string
	// Binary is the multi-call plinth binary that runs apid and trustd.
	Binary string
	// Args re-execute machined on a container reboot (os.Args).
	Args []string
	// Power overrides the mode's power actions (tests).
	Power power.Actions
	// Logger is machined's logger; slog.Default when nil.
	Logger *slog.Logger
	// Console receives the maintenance-mode banner; stdout when nil.
	Console io.Writer
	// DisableServices boots without apid and trustd (tests).
	DisableServices bool
	// ServiceArgs are extra arguments of services by id (tests: free
	// --listen ports for apid and trustd).
	ServiceArgs map[string][]string
	// Addresses returns the node's addresses; the interfaces' when nil.
	Addresses func() ([]netip.Prefix, error)
	// ProcRoot is the proc file system ("/proc").
	ProcRoot string
	// OnMaintenance is told where the maintenance server listens and its
	// certificate fingerprint (tests).
	OnMaintenance func(addr net.Addr, fingerprint string)
}

// Main runs machined with command-line args (without the program name)
// and returns the process exit code. SIGTERM and SIGINT run the shutdown
// sequence (docker stop).
func Main(args []string) int {
	fs := flag.NewFlagSet("machined", flag.ContinueOnError)
	var opts Options
	var mode, binary string
	fs.StringVar(&opts.Root, "root", "/", "directory node paths are resolved under")
	fs.StringVar(&mode, "mode", "auto", "platform: metal, container or auto")
	fs.StringVar(&opts.MaintenanceListen, "maintenance-listen", fmt.Sprintf(":%d", constants.ApidPort), "address of the maintenance-mode API")
	fs.StringVar(&binary, "plinth-binary", "/proc/self/exe", "multi-call binary that runs apid and trustd")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "machined: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var err error
	if opts.Mode, err = detectMode(mode, fileExists, os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "machined: %v\n", err)
		return 2
	}
	if opts.Binary, err = resolveBinary(binary); err != nil {
		fmt.Fprintf(os.Stderr, "machined: %v\n", err)
		return 1
	}
	opts.Args = os.Args
	if opts.Mode == validation.ModeMetal {
		if console, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
			defer console.Close()
			opts.Console = console
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "machined: %v\n", err)
		return 1
	}
	return 0
}

// detectMode resolves the --mode flag: auto is container when a container
// runtime left its marker (/.dockerenv, /run/.containerenv) or set the
// "container" variable, else metal.
func detectMode(flagValue string, exists func(string) bool, getenv func(string) string) (validation.Mode, error) {
	if flagValue != "auto" {
		return validation.ParseMode(flagValue)
	}
	if exists("/.dockerenv") || exists("/run/.containerenv") || getenv("container") != "" {
		return validation.ModeContainer, nil
	}
	return validation.ModeMetal, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// resolveBinary turns the plinth binary (often /proc/self/exe, which
// children would resolve to themselves) into the real path, once, at start.
func resolveBinary(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("resolve plinth binary %s: %w", p, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", fmt.Errorf("resolve plinth binary %s: %w", p, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("resolve plinth binary: %w", err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", errors.New("resolve plinth binary: " + real + " is not an executable file")
	}
	return real, nil
}
