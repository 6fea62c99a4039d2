package machined

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/sys/files"
	"github.com/plinth-os/plinth/internal/sys/kmsg"
	"github.com/plinth-os/plinth/internal/sys/procfs"
)

// sysInspector reads the node through internal/sys: /proc for processes,
// memory, mounts and sockets, /dev/kmsg for the kernel log, and the file
// roots (under Root) for Read, List and Copy.
type sysInspector struct {
	proc  string
	roots files.Roots
}

func (m *machined) inspector() server.Inspector {
	return &sysInspector{proc: m.opts.ProcRoot, roots: files.Roots{Allowed: files.DefaultAllowed, Root: m.opts.Root}}
}

func (s *sysInspector) Processes() ([]*machine.ProcessInfo, error) { return procfs.Processes(s.proc) }

func (s *sysInspector) Memory() (*machine.MemInfo, error) { return procfs.MemInfo(s.proc) }

func (s *sysInspector) Mounts() ([]*machine.MountStat, error) {
	return procfs.Mounts(s.proc, procfs.Statfs)
}

func (s *sysInspector) Netstat(req *machine.NetstatRequest) ([]*machine.ConnectRecord, error) {
	return procfs.Netstat(s.proc, req)
}

func (s *sysInspector) Dmesg(ctx context.Context, follow, tail bool, emit func([]byte) error) error {
	err := kmsg.Read(ctx, kmsg.DevicePath, follow, tail, emit)
	if errors.Is(err, kmsg.ErrUnavailable) {
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	return err
}

func (s *sysInspector) Read(p string) (io.ReadCloser, error) {
	rc, err := s.roots.Open(p)
	return rc, fileStatus(err)
}

func (s *sysInspector) List(req *machine.ListRequest, emit func(*machine.FileInfo) error) error {
	return fileStatus(s.roots.List(req, emit))
}

func (s *sysInspector) Copy(ctx context.Context, p string, w io.Writer) error {
	return fileStatus(s.roots.Copy(ctx, p, w))
}

// fileStatus maps the file roots' errors to API codes.
func fileStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, files.ErrInvalidPath), errors.Is(err, files.ErrIsDirectory), errors.Is(err, files.ErrNotRegular):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, files.ErrNotAllowed):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, files.ErrIncomplete):
		return status.Error(codes.DataLoss, err.Error())
	case errors.Is(err, fs.ErrNotExist):
		return status.Error(codes.NotFound, err.Error())
	}
	return err
}
