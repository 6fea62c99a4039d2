package docker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/provision"
)

// fingerprintRE finds the certificate fingerprint machined prints when it
// enters maintenance mode.
var fingerprintRE = regexp.MustCompile(`certificate fingerprint SHA256 ([0-9A-Fa-f:]{64,95})`)

// logTail is how many log lines of a failed node an error shows.
const logTail = 20

// lastFingerprint returns the fingerprint of the last maintenance banner
// in a node's output, or "".
func lastFingerprint(logs []byte) string {
	all := fingerprintRE.FindAllSubmatch(logs, -1)
	if len(all) == 0 {
		return ""
	}
	return string(all[len(all)-1][1])
}

// deliver waits for a node's maintenance banner and applies its config
// over TLS pinned to the printed fingerprint.
func (p *Provisioner) deliver(ctx context.Context, n provision.Node, config []byte, out *lineWriter) error {
	fp, err := p.waitFingerprint(ctx, n)
	if err != nil {
		return err
	}
	for {
		err = p.apply(ctx, n.APIEndpoint, fp, config)
		if err == nil {
			out.printf("applied the config of %s (maintenance API, certificate %s…)", n.Name, fp[:11])
			return nil
		}
		// The banner comes right after the listener opens; Docker's port
		// proxy may still refuse for a moment.
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return p.nodeError(n, fmt.Errorf("apply config: %w", err))
		}
		if perr := pause(ctx, p.poll); perr != nil {
			return p.nodeError(n, fmt.Errorf("apply config: %w (last error: %v)", perr, err))
		}
	}
}

// waitFingerprint polls the node's output until machined prints its
// maintenance banner, failing early when the container stops.
func (p *Provisioner) waitFingerprint(ctx context.Context, n provision.Node) (string, error) {
	for {
		logs, err := p.engine.ContainerLogs(ctx, n.ID, 0)
		if err != nil {
			return "", fmt.Errorf("node %s: %w", n.Name, err)
		}
		if fp := lastFingerprint(logs); fp != "" {
			return fp, nil
		}
		c, err := p.engine.ContainerInspect(ctx, n.ID)
		if err != nil {
			return "", fmt.Errorf("node %s: %w", n.Name, err)
		}
		if !c.State.Running {
			return "", p.nodeError(n, fmt.Errorf("container %s (exit status %d%s)", c.State.Status, c.State.ExitCode, prefixed(": ", c.State.Error)))
		}
		if err := pause(ctx, p.poll); err != nil {
			return "", p.nodeError(n, fmt.Errorf("no maintenance banner yet: %w", err))
		}
	}
}

// nodeError adds the last lines of the node's output to err.
func (p *Provisioner) nodeError(n provision.Node, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	logs, lerr := p.engine.ContainerLogs(ctx, n.ID, logTail)
	text := strings.TrimRight(string(logs), "\n")
	if lerr != nil || text == "" {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	return fmt.Errorf("node %s: %w\nlast lines of its output:\n  %s", n.Name, err, strings.ReplaceAll(text, "\n", "\n  "))
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// applyMaintenance is the default ApplyFunc: the node API client in
// maintenance mode, pinned to the fingerprint.
func applyMaintenance(ctx context.Context, endpoint, fingerprint string, config []byte) error {
	c, err := client.New(ctx, client.WithEndpoints(endpoint), client.WithMaintenance(fingerprint))
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.Machine.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{
		Data: config, Mode: machine.ApplyConfigurationRequest_AUTO,
	})
	if err != nil {
		return err
	}
	if _, failed := client.Items(resp.GetMessages()); len(failed) > 0 {
		return errors.New(failed[0].Error())
	}
	return nil
}
