package server

import (
	"bufio"
	"context"
	"io"
	"path"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

// Inspector reads the node's processes, memory, mounts, sockets, kernel
// log and files (machined wires internal/sys/* behind it).
type Inspector interface {
	Processes() ([]*machine.ProcessInfo, error)
	Memory() (*machine.MemInfo, error)
	Mounts() ([]*machine.MountStat, error)
	Netstat(req *machine.NetstatRequest) ([]*machine.ConnectRecord, error)
	Dmesg(ctx context.Context, follow, tail bool, emit func([]byte) error) error
	// Read opens an allowed file.
	Read(path string) (io.ReadCloser, error)
	// List walks an allowed directory.
	List(req *machine.ListRequest, emit func(*machine.FileInfo) error) error
	// Copy writes a gzipped tar of an allowed directory to w.
	Copy(ctx context.Context, path string, w io.Writer) error
}

// Processes lists the node's processes.
func (m *Machine) Processes(context.Context, *emptypb.Empty) (*machine.ProcessesResponse, error) {
	ps, err := m.opts.Inspector.Processes()
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.ProcessesResponse{Messages: []*machine.Processes{{Processes: ps}}}, nil
}

// Memory reports the node's memory.
func (m *Machine) Memory(context.Context, *emptypb.Empty) (*machine.MemoryResponse, error) {
	mi, err := m.opts.Inspector.Memory()
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.MemoryResponse{Messages: []*machine.Memory{{Meminfo: mi}}}, nil
}

// Mounts lists the node's mounts with their usage.
func (m *Machine) Mounts(context.Context, *emptypb.Empty) (*machine.MountsResponse, error) {
	ms, err := m.opts.Inspector.Mounts()
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.MountsResponse{Messages: []*machine.Mounts{{Stats: ms}}}, nil
}

// Netstat lists the node's sockets.
func (m *Machine) Netstat(_ context.Context, req *machine.NetstatRequest) (*machine.NetstatResponse, error) {
	if _, ok := machine.NetstatRequest_Filter_name[int32(req.GetFilter())]; !ok {
		return nil, invalidArgument("unknown filter %d", req.GetFilter())
	}
	rs, err := m.opts.Inspector.Netstat(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.NetstatResponse{Messages: []*machine.Netstat{{ConnectRecords: rs}}}, nil
}

// Dmesg streams the kernel log.
func (m *Machine) Dmesg(req *machine.DmesgRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	err := m.opts.Inspector.Dmesg(srv.Context(), req.GetFollow(), req.GetTail(), func(b []byte) error {
		return srv.Send(&common.Data{Bytes: b})
	})
	return toStatus(err)
}

// checkPath refuses empty, relative and unclean paths before they reach
// the file roots (which check the allowed prefixes).
func checkPath(field, p string) error {
	switch {
	case p == "":
		return invalidArgument("%s is empty: give an absolute path", field)
	case !strings.HasPrefix(p, "/"):
		return invalidArgument("%s %q is not absolute", field, p)
	case strings.ContainsRune(p, 0):
		return invalidArgument("%s contains a NUL byte", field)
	case path.Clean(p) != p && path.Clean(p)+"/" != p:
		return invalidArgument("%s %q is not clean: expected %q", field, p, path.Clean(p))
	}
	return nil
}

// Read streams an allowed file.
func (m *Machine) Read(req *machine.ReadRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	if err := checkPath("path", req.GetPath()); err != nil {
		return err
	}
	rc, err := m.opts.Inspector.Read(req.GetPath())
	if err != nil {
		return toStatus(err)
	}
	defer rc.Close()
	return toStatus(streamReader(rc, func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) }))
}

// List walks an allowed directory.
func (m *Machine) List(req *machine.ListRequest, srv grpc.ServerStreamingServer[machine.FileInfo]) error {
	if err := checkPath("root", req.GetRoot()); err != nil {
		return err
	}
	if req.GetRecursionDepth() < 0 {
		return invalidArgument("recursion_depth is %d: expected 0 (unlimited) or more", req.GetRecursionDepth())
	}
	return toStatus(m.opts.Inspector.List(req, srv.Send))
}

// Copy streams a gzipped tar of an allowed directory.
func (m *Machine) Copy(req *machine.CopyRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	if err := checkPath("root_path", req.GetRootPath()); err != nil {
		return err
	}
	// Buffered, so that the archive's many small writes travel in full chunks.
	w := bufio.NewWriterSize(chunkWriter{send: func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) }}, chunkSize)
	if err := m.opts.Inspector.Copy(srv.Context(), req.GetRootPath(), w); err != nil {
		_ = w.Flush() // what was archived before the error still reaches the client
		return toStatus(err)
	}
	return toStatus(w.Flush())
}

// errNoInspector answers inspection calls on a server built without an Inspector.
var errNoInspector = status.Error(codes.Unimplemented, "inspection is not available on this node")

// noInspector is the Inspector of servers built without one.
type noInspector struct{}

func (noInspector) Processes() ([]*machine.ProcessInfo, error) { return nil, errNoInspector }
func (noInspector) Memory() (*machine.MemInfo, error)          { return nil, errNoInspector }
func (noInspector) Mounts() ([]*machine.MountStat, error)      { return nil, errNoInspector }
func (noInspector) Netstat(*machine.NetstatRequest) ([]*machine.ConnectRecord, error) {
	return nil, errNoInspector
}
func (noInspector) Dmesg(context.Context, bool, bool, func([]byte) error) error {
	return errNoInspector
}
func (noInspector) Read(string) (io.ReadCloser, error) { return nil, errNoInspector }
func (noInspector) List(*machine.ListRequest, func(*machine.FileInfo) error) error {
	return errNoInspector
}
func (noInspector) Copy(context.Context, string, io.Writer) error { return errNoInspector }
