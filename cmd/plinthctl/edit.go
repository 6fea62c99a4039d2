package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

func init() { registerCommand(newEditCmd) }

// editFlags are the flags of `plinthctl edit`.
type editFlags struct {
	applyFlags
}

// errEditCancelled means the user closed the editor without changes.
var errEditCancelled = errors.New("edit cancelled, no changes made")

func newEditCmd(g *globalFlags) *cobra.Command {
	f := &editFlags{}
	cmd := &cobra.Command{
		Use:   "edit machineconfig",
		Short: "Edit the machine config of nodes in $EDITOR and apply it",
		Long: `Fetch the machine config of each node, open it in $EDITOR (default vi) and
apply what is saved. An invalid config is not sent: the editor opens again
with the problems listed at the top. Closing the editor without changes
cancels the edit of that node.`,
		Example: `  plinthctl edit machineconfig -n 10.5.0.2
  EDITOR=nano plinthctl edit mc --mode no-reboot`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isMachineConfig(args[0]) {
				return fmt.Errorf("cannot edit %q: only machineconfig can be edited", args[0])
			}
			return f.run(cmd, g)
		},
	}
	f.add(cmd.Flags())
	return cmd
}

// isMachineConfig reports whether name designates the machine config.
func isMachineConfig(name string) bool {
	for _, d := range resconfig.Definitions {
		if d.Type == resconfig.MachineConfigType {
			return d.Matches(name)
		}
	}
	return false
}

func (f *editFlags) run(cmd *cobra.Command, g *globalFlags) error {
	if _, err := f.request(cmd.Flags(), nil); err != nil {
		return err
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, node := range nc.targets() {
		err := f.editNode(cmd, nc, node, fails)
		switch {
		case errors.Is(err, errEditCancelled):
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %v\n", nc.nameOf(node), err)
		case err != nil:
			fails.failed(nc.nameOf(node), err)
		}
	}
	return fails.err()
}

// editNode edits and applies the config of one node.
func (f *editFlags) editNode(cmd *cobra.Command, nc *nodeConn, node string, fails *failures) error {
	ctx := nc.one(cmd.Context(), node)
	current, err := fetchConfig(ctx, nc)
	if err != nil {
		return err
	}
	edited, err := editLoop(cmd, nc.nameOf(node), current)
	if err != nil {
		return err
	}
	req, err := f.request(cmd.Flags(), edited)
	if err != nil {
		return err
	}
	resp, err := nc.c.Machine.ApplyConfiguration(ctx, req)
	if err != nil {
		return fmt.Errorf("apply config: %w", apiError{err})
	}
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		printApplied(cmd.OutOrStdout(), nc.nameOf(node), item, req.GetDryRun())
	}
	return nil
}

// fetchConfig returns the machine config of the node ctx names.
func fetchConfig(ctx context.Context, nc *nodeConn) ([]byte, error) {
	resp, err := nc.c.Machine.GetConfiguration(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("get config: %w", apiError{err})
	}
	msgs := resp.GetMessages()
	if len(msgs) != 1 {
		return nil, fmt.Errorf("get config: expected one answer, got %d", len(msgs))
	}
	if msg := msgs[0].GetMetadata().GetError(); msg != "" {
		return nil, fmt.Errorf("get config: %s", msg)
	}
	return msgs[0].GetData(), nil
}

// editLoop lets the user edit config until it is valid or unchanged. It
// returns the edited config without the comment header, or
// errEditCancelled.
func editLoop(cmd *cobra.Command, node string, config []byte) ([]byte, error) {
	tmp, err := os.CreateTemp("", "plinth-machineconfig-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	path := tmp.Name()
	_ = tmp.Close()
	keep := false
	defer func() {
		if !keep {
			_ = os.Remove(path)
		}
	}()
	original := stripHeader(config)
	body, problems := original, []string(nil)
	for {
		if err := os.WriteFile(path, editFile(node, problems, body), 0o600); err != nil {
			return nil, fmt.Errorf("edit: %w", err)
		}
		if err := runEditor(cmd, path); err != nil {
			return nil, err
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("edit: %w", err)
		}
		edited := stripHeader(saved)
		switch {
		case bytes.Equal(edited, original):
			return nil, errEditCancelled
		case problems != nil && bytes.Equal(edited, body):
			keep = true
			return nil, fmt.Errorf("edit cancelled: the config is still invalid; the edited file is kept in %s", path)
		}
		// Validate the file as saved, so problems point at its lines.
		if _, err := loadAndValidate(filepath.Base(path), saved, validation.ModeMetal, cmd.ErrOrStderr()); err != nil {
			body, problems = edited, strings.Split(err.Error(), "\n")
			continue
		}
		return edited, nil
	}
}

// editFile is what the editor shows: a comment header, the problems of
// the last attempt, then the config.
func editFile(node string, problems []string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Machine config of node %s.\n", node)
	b.WriteString("# Save and quit to apply it; quit without changes to cancel.\n")
	b.WriteString("# The comment lines at the top of this file are ignored.\n")
	if len(problems) > 0 {
		b.WriteString("#\n# The config is invalid; fix it, or quit without changes to give up:\n")
		for _, p := range problems {
			b.WriteString("#   " + strings.TrimSpace(p) + "\n")
		}
	}
	b.WriteString("#\n")
	b.Write(body)
	return b.Bytes()
}

// stripHeader drops the comment and blank lines at the top of a file.
func stripHeader(data []byte) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 && trimmed[0] != '#' {
			break
		}
		data = rest
	}
	return data
}

// runEditor opens path in $EDITOR (default vi), which may hold arguments.
func runEditor(cmd *cobra.Command, path string) error {
	editor := strings.Fields(os.Getenv("EDITOR"))
	if len(editor) == 0 {
		editor = []string{"vi"}
	}
	c := exec.CommandContext(cmd.Context(), editor[0], append(editor[1:], path)...) //nolint:gosec // the user's editor
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := c.Run(); err != nil {
		return fmt.Errorf("editor %q: %w", strings.Join(editor, " "), err)
	}
	return nil
}
