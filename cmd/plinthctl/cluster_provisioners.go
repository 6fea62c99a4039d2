package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker"
)

// provisioners builds the provisioners `cluster create --provisioner`
// offers, by name. Other provisioners register themselves from their own
// file's init: provisioners["qemu"] = newQemuProvisioner.
var provisioners = map[string]func() (provision.Provisioner, error){
	docker.Name: func() (provision.Provisioner, error) { return docker.New(docker.Options{}) },
}

// provisionerModes is the mode each provisioner's nodes validate configs
// for; metal when absent.
var provisionerModes = map[string]validation.Mode{
	docker.Name: validation.ModeContainer,
}

// provisionerImages is each provisioner's node image when --image is not
// given.
var provisionerImages = map[string]string{
	docker.Name: "plinth/node:latest",
}

// dockerPingTimeout bounds the check that a Docker daemon answers.
const dockerPingTimeout = 3 * time.Second

// availability is implemented by provisioners that can tell whether they
// work on this host (the docker one: a daemon answers).
type availability interface {
	Available(ctx context.Context) error
}

// pickProvisioner builds the named provisioner, or with an empty name the
// default: docker when a Docker daemon answers.
func pickProvisioner(ctx context.Context, name string) (provision.Provisioner, error) {
	explicit := name != ""
	if !explicit {
		name = docker.Name
	}
	build, ok := provisioners[name]
	if !ok {
		return nil, fmt.Errorf("--provisioner %q: expected one of %s", name, strings.Join(provisionerNames(), ", "))
	}
	p, err := build()
	if err != nil {
		return nil, fmt.Errorf("provisioner %s: %w", name, err)
	}
	if a, ok := p.(availability); ok {
		pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
		defer cancel()
		if err := a.Available(pctx); err != nil {
			hint := "start it (on Debian: hack/ensure-docker.sh) or set DOCKER_HOST"
			if !explicit {
				hint += ", or create virtual machines with --provisioner qemu"
			}
			return nil, fmt.Errorf("provisioner %s: %w: %s", name, err, hint)
		}
	}
	return p, nil
}

// provisionerNames lists the registered provisioners, sorted.
func provisionerNames() []string {
	names := make([]string, 0, len(provisioners))
	for n := range provisioners {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// modeOf is the validation mode of a provisioner's nodes.
func modeOf(provisioner string) validation.Mode {
	if m, ok := provisionerModes[provisioner]; ok {
		return m
	}
	return validation.ModeMetal
}
