// Package server implements machined's API: MachineService and
// ResourceService, served on machined's Unix socket (where apid forwards
// every call) and, in part, by the maintenance-mode TLS server.
//
// Authorization is apid's job. machined only trusts the roles apid passes
// in the constants.RolesMetadataKey metadata to decide who may read
// sensitive resources: a call without that metadata comes from the node
// itself and may read everything. Calls marked as maintenance-mode calls
// (see WithMaintenance) never may, whatever metadata they carry.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/sequencer"
	"github.com/plinth-os/plinth/pkg/machinery/apiauth"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// chunkSize bounds the bytes of one streamed Data message.
const chunkSize = 64 << 10

// Register registers both services on s.
func Register(s *grpc.Server, m *Machine, r *Resources) {
	machine.RegisterMachineServiceServer(s, m)
	resource.RegisterResourceServiceServer(s, r)
}

type maintenanceKey struct{}

// WithMaintenance marks ctx as a call to the maintenance-mode server:
// unauthenticated, so never allowed sensitive data.
func WithMaintenance(ctx context.Context) context.Context {
	return context.WithValue(ctx, maintenanceKey{}, true)
}

// IsMaintenance reports whether ctx is a maintenance-mode call.
func IsMaintenance(ctx context.Context) bool {
	v, _ := ctx.Value(maintenanceKey{}).(bool)
	return v
}

// mayReadSensitive reports whether the caller may read secrets: a local
// caller (no roles metadata) or one with the admin role.
func mayReadSensitive(ctx context.Context) bool {
	if IsMaintenance(ctx) {
		return false
	}
	md, _ := metadata.FromIncomingContext(ctx)
	roles, _, present := apiauth.RolesFromMetadata(md)
	return !present || roles.Includes(role.Admin)
}

// toStatus turns an internal error into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var ae *apply.Error
	if errors.As(err, &ae) {
		return status.Error(ae.Code, ae.Msg)
	}
	if sequencer.IsBusy(err) {
		var b *sequencer.BusyError
		errors.As(err, &b)
		return status.Error(codes.FailedPrecondition, b.Error())
	}
	if s, ok := status.FromError(err); ok {
		return s.Err()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func invalidArgument(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// chunkWriter sends what is written to it as Data messages.
type chunkWriter struct {
	send func([]byte) error
}

func (w chunkWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += chunkSize {
		end := min(off+chunkSize, len(p))
		if err := w.send(append([]byte(nil), p[off:end]...)); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// streamReader copies r to send in chunks until EOF.
func streamReader(r io.Reader, send func([]byte) error) error {
	buf := make([]byte, chunkSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := send(append([]byte(nil), buf[:n]...)); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// logger returns l, or a discarding logger when nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
