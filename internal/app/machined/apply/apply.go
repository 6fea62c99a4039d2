// Package apply decides and carries out machine-config changes: the
// ApplyConfiguration modes, dry runs with redacted diffs, staged configs for
// the next boot, and try mode with its rollback.
//
// # Modes
//
//	mode       running node                               maintenance mode
//	AUTO       no reboot when possible, else store+reboot  store, continue the boot
//	NO_REBOOT  store+activate; FailedPrecondition when a   store, continue the boot
//	           change needs a reboot
//	REBOOT     store, then reboot                          store, continue the boot
//	STAGED     write config.staged.yaml for the next boot  store, continue the boot
//	TRY        activate without storing; roll back after   FailedPrecondition: nothing
//	           the timeout unless another apply comes      to roll back to
//
// A dry run validates, decides and reports (mode_details and a redacted
// diff) without changing anything. An invalid config is refused with
// InvalidArgument listing every problem; nothing changes.
//
// # Changes that need a reboot
//
//	field                   why
//	machine.type            the node's role: services, certificates, etcd membership
//	machine.install         the installed disk and image are only used at install/boot
//	machine.kernel          modules are loaded at boot
//	machine.ca              the API CA: apid's and trustd's certificates and trust
//	cluster.id, .secret     the cluster's identity, shared by every member
//	cluster.ca              the Kubernetes CA: every component's certificates
//	cluster.aggregatorCA    the front-proxy CA of kube-apiserver
//	cluster.serviceAccount  the key of every issued service-account token
//	cluster.etcd.ca         etcd's peer and client certificates
//
// Everything else (network, time, files, sysctls, kubelet and component
// arguments, ...) is applied by the controllers without a reboot. Hence a
// node never accepts a config of another machine type without a reboot.
package apply

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

// Mode is an apply mode.
type Mode = machine.ApplyConfigurationRequest_Mode

// Request is one ApplyConfiguration call.
type Request struct {
	// Data is the new config's YAML.
	Data []byte
	// Mode says how to apply it.
	Mode Mode
	// DryRun reports what would happen and changes nothing.
	DryRun bool
	// TryTimeout is the rollback delay of TRY; constants.DefaultTryModeTimeout when zero.
	TryTimeout time.Duration
}

// Result says what was done (or, for a dry run, what would be).
type Result struct {
	// Mode is the requested mode.
	Mode Mode
	// Details says what the node did or would do, and why.
	Details string
	// Diff is the redacted unified diff (dry runs only).
	Diff string
	// Warnings are the config's validation warnings.
	Warnings []string
	// Reboot is true when the caller must now reboot the node.
	Reboot bool
}

// Error is a refused apply; it carries the gRPC code the API returns.
type Error struct {
	Code codes.Code
	Msg  string
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

// GRPCStatus lets grpc report the error with its code.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Msg) }

func invalid(format string, args ...any) error {
	return &Error{Code: codes.InvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

func precondition(format string, args ...any) error {
	return &Error{Code: codes.FailedPrecondition, Msg: fmt.Sprintf(format, args...)}
}

// Parse loads and validates a config for mode. Problems are returned as an
// *Error with code InvalidArgument listing each of them with its line.
func Parse(data []byte, mode validation.Mode) (*config.Config, []string, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil, invalid("invalid config: the config is empty")
	}
	cfg, err := config.Load(data)
	if err != nil {
		return nil, nil, invalid("%s", err.Error())
	}
	warnings, err := cfg.Validate(mode)
	if err != nil {
		return nil, nil, invalid("%s", err.Error())
	}
	out := make([]string, len(warnings))
	for i, w := range warnings {
		out[i] = w.String()
	}
	return cfg, out, nil
}

// Action is what an apply does to the node.
type Action int

// The actions of an apply.
const (
	// ActionBoot stores the config and hands it to the boot waiting in maintenance mode.
	ActionBoot Action = iota + 1
	// ActionActivate stores the config and applies it without reboot.
	ActionActivate
	// ActionReboot stores the config and reboots.
	ActionReboot
	// ActionStage stores the config for the next boot only.
	ActionStage
	// ActionTry applies the config without storing it, with a rollback timer.
	ActionTry
)

// Decision is the outcome of Decide.
type Decision struct {
	Action  Action
	Details string
	// RebootFields are the changed fields that need a reboot.
	RebootFields []string
}

// Decide picks the action for a valid new config given the active one
// (nil in maintenance mode), or refuses it. It is pure.
func Decide(active, next *config.Config, mode Mode) (Decision, error) {
	if active == nil {
		if mode == machine.ApplyConfigurationRequest_TRY {
			return Decision{}, precondition("try mode needs an active config to roll back to: the node is in maintenance mode, apply with another mode")
		}
		return Decision{Action: ActionBoot, Details: "applied in maintenance mode: the boot continues with the new config"}, nil
	}
	fields := RebootFields(active, next)
	need := strings.Join(fields, ", ")
	switch mode {
	case machine.ApplyConfigurationRequest_AUTO:
		if len(fields) > 0 {
			return Decision{ActionReboot, "applied with a reboot: changes to " + need + " need one", fields}, nil
		}
		return Decision{ActionActivate, "applied without a reboot", nil}, nil
	case machine.ApplyConfigurationRequest_NO_REBOOT, machine.ApplyConfigurationRequest_TRY:
		if len(fields) > 0 {
			return Decision{}, precondition("cannot apply without a reboot: changes to %s need one%s; use mode auto, reboot or staged",
				need, typeHint(active, next))
		}
		if mode == machine.ApplyConfigurationRequest_TRY {
			return Decision{ActionTry, "applied without a reboot in try mode", nil}, nil
		}
		return Decision{ActionActivate, "applied without a reboot", nil}, nil
	case machine.ApplyConfigurationRequest_REBOOT:
		return Decision{ActionReboot, "applied with a reboot, as asked", fields}, nil
	case machine.ApplyConfigurationRequest_STAGED:
		return Decision{ActionStage, "staged: the config is applied at the next boot", fields}, nil
	}
	return Decision{}, invalid("unknown apply mode %d", mode)
}

func typeHint(active, next *config.Config) string {
	if a, n := machineType(active), machineType(next); a != n {
		return fmt.Sprintf(" (the machine type changes from %q to %q)", a, n)
	}
	return ""
}
