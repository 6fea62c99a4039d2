// Package power turns the machine off or restarts it, once machined's
// sequences have stopped the services:
//
//	container mode: Reboot re-executes machined in place (same PID, same
//	                arguments), which reloads the config from STATE;
//	                Shutdown ends machined (exit 0: the container stops).
//	metal:          sync, unmount what can be, sync, reboot(2) with
//	                RESTART or POWER_OFF (see Metal).
package power

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Actions powers the machine off or restarts it. Neither returns on
// success on a real node; test implementations may.
type Actions interface {
	// Reboot restarts the machine.
	Reboot(ctx context.Context) error
	// Shutdown turns the machine off.
	Shutdown(ctx context.Context) error
}

// Kexecer is implemented by the power of machines that can start a
// loaded kernel directly (kexec).
type Kexecer interface {
	// Kexec starts the loaded kernel; it returns only on failure.
	Kexec(ctx context.Context) error
}

// Container is the power of a node running as a container.
type Container struct {
	// Binary and Args are re-executed on reboot (Args[0] included).
	Binary string
	Args   []string
	// Exit ends machined on shutdown; it is expected to make Run return.
	Exit func()
	// exec replaces the process image; syscall.Exec when nil.
	exec func(path string, argv, env []string) error
}

// NewContainer returns the power of a container node that re-executes
// binary with args on reboot and calls exit on shutdown.
func NewContainer(binary string, args []string, exit func()) *Container {
	return &Container{Binary: binary, Args: args, Exit: exit}
}

// Reboot re-executes machined in place. It returns only on failure.
func (c *Container) Reboot(context.Context) error {
	run := c.exec
	if run == nil {
		run = syscall.Exec
	}
	if err := run(c.Binary, c.Args, os.Environ()); err != nil {
		return fmt.Errorf("reboot: re-execute %s: %w", c.Binary, err)
	}
	return nil
}

// Shutdown ends machined.
func (c *Container) Shutdown(context.Context) error {
	if c.Exit == nil {
		return errors.New("shutdown: no exit function")
	}
	c.Exit()
	return nil
}

// Refuse is the power of a machine machined does not own (metal mode
// outside PID 1): every action fails with Reason.
type Refuse struct {
	// Reason is the error message.
	Reason string
}

// Reboot fails.
func (r Refuse) Reboot(context.Context) error { return errors.New("reboot: " + r.Reason) }

// Shutdown fails.
func (r Refuse) Shutdown(context.Context) error { return errors.New("shutdown: " + r.Reason) }
