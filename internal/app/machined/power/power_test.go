package power

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestContainerReboot(t *testing.T) {
	var gotPath string
	var gotArgs []string
	c := NewContainer("/usr/bin/plinth", []string{"plinth", "machined", "--root", "/"}, nil)
	c.exec = func(path string, argv, _ []string) error {
		gotPath, gotArgs = path, argv
		return errors.New("exec refused")
	}
	err := c.Reboot(context.Background())
	if err == nil || gotPath != "/usr/bin/plinth" || !slices.Equal(gotArgs, c.Args) {
		t.Fatalf("Reboot = %v, exec %s %v", err, gotPath, gotArgs)
	}
}

func TestContainerShutdown(t *testing.T) {
	exited := false
	c := NewContainer("x", nil, func() { exited = true })
	if err := c.Shutdown(context.Background()); err != nil || !exited {
		t.Fatalf("Shutdown = %v, exited %v", err, exited)
	}
}
