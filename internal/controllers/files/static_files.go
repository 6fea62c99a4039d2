package files

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/files"
)

// Ops of machine.files entries.
const (
	opCreate = "create"
	opAppend = "append"
)

// StaticFilesController writes the files of machine.files under Root and
// reports each one as a StaticFileStatus (ID: the path).
//
// "create" makes the file hold exactly the content, atomically. "append"
// adds the content once: the status records the SHA-256 of what was
// appended, so re-runs and unrelated config changes do not append it again;
// after machined restarts (the status is gone) a file that already ends
// with the content counts as applied. Content that changes is appended
// anew. A failed file is reported in its status and the run returns an
// error, so the runtime retries it with backoff. Files whose entries go
// away stay on disk; only their statuses are removed.
type StaticFilesController struct {
	// Root is the file-system root the files are written under.
	Root string
}

// Name implements runtime.Controller.
func (*StaticFilesController) Name() string { return "files.StaticFilesController" }

// Inputs implements runtime.Controller.
func (*StaticFilesController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller.
func (*StaticFilesController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: files.StaticFileStatusType}}
}

// Run implements runtime.Controller.
func (c *StaticFilesController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		if err := c.reconcile(ctx, r, logger); err != nil {
			return err
		}
	}
}

func (c *StaticFilesController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}

	var entries []v1alpha1.File
	if m != nil && m.Machine != nil {
		entries = m.Machine.Files
	}

	tr := runtime.NewOutputTracker(r, files.NamespaceName, files.StaticFileStatusType)

	var failed []error

	for _, f := range entries {
		status, err := c.apply(ctx, r, f)
		if err != nil {
			logger.Error("static file failed", "path", f.Path, "error", err)
			failed = append(failed, err)
		}

		err = tr.Modify(ctx, files.NewStaticFileStatus(f.Path), func(res resource.Resource) error {
			*res.(*files.StaticFileStatus).TypedSpec() = status

			return nil
		})
		if err != nil {
			return fmt.Errorf("static file status %s: %w", f.Path, err)
		}
	}

	if err := tr.Cleanup(ctx); err != nil {
		return err
	}

	return errors.Join(failed...)
}

// apply writes one entry and returns its status; the status carries the
// error too.
func (c *StaticFilesController) apply(ctx context.Context, r runtime.ControllerRuntime, f v1alpha1.File) (files.StaticFileStatusSpec, error) {
	sum := sha256.Sum256([]byte(f.Content))
	status := files.StaticFileStatusSpec{
		Path:   f.Path,
		Op:     cmp.Or(f.Op, opCreate),
		Mode:   cmp.Or(f.Permissions, defaultMode),
		SHA256: hex.EncodeToString(sum[:]),
	}

	err := c.write(ctx, r, f, status)
	if err != nil {
		status.Error = err.Error()
	}

	status.Applied = err == nil

	return status, err
}

func (c *StaticFilesController) write(ctx context.Context, r runtime.ControllerRuntime, f v1alpha1.File, status files.StaticFileStatusSpec) error {
	if err := checkPath(f.Path); err != nil {
		return fmt.Errorf("static file: %w", err)
	}

	full := filepath.Join(c.Root, f.Path)
	mode := fileMode(f.Permissions)

	switch status.Op {
	case opCreate:
		return createFile(full, []byte(f.Content), mode)
	case opAppend:
		done, err := c.appended(ctx, r, full, f, status)
		if err != nil || done {
			return err
		}

		return appendFile(full, []byte(f.Content), mode)
	default:
		return fmt.Errorf("static file %s: unknown op %q", f.Path, status.Op)
	}
}

// appended reports whether the entry's content was appended already: by
// this controller (its status says so), or before machined restarted (the
// file ends with it).
func (c *StaticFilesController) appended(ctx context.Context, r runtime.ControllerRuntime, full string,
	f v1alpha1.File, status files.StaticFileStatusSpec,
) (bool, error) {
	prev, err := read.Typed[files.StaticFileStatusSpec](ctx, r, files.NewStaticFileStatus(f.Path).Metadata().Ref())
	if err != nil {
		return false, err
	}

	if prev != nil {
		p := prev.TypedSpec()
		if !p.Applied || p.Op != opAppend || p.SHA256 != status.SHA256 {
			return false, nil // a new content, or an earlier failure
		}

		if _, err := os.Stat(full); errors.Is(err, fs.ErrNotExist) {
			return false, nil // removed since: append to a new file
		}

		return true, ensureMode(full, fileMode(f.Permissions))
	}

	return endsWith(full, []byte(f.Content))
}
