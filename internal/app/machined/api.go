package machined

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// startAPI serves the API on machined's Unix socket: directory 0700,
// socket 0600, a stale socket from a previous run removed first.
func (m *machined) startAPI() error {
	p := m.path(constants.MachinedSocket)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	if err := os.Chmod(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	if st, err := os.Lstat(p); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return fmt.Errorf("api socket: %s exists and is not a socket", p)
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("api socket: remove stale socket: %w", err)
		}
	}
	lis, err := net.Listen("unix", p)
	if err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		_ = lis.Close()
		return fmt.Errorf("api socket: %w", err)
	}
	m.unixServer = grpc.NewServer()
	server.Register(m.unixServer, m.machineAPI, m.resourceAPI)
	m.wg.Go(func() {
		if err := m.unixServer.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			m.logger.Error("api server failed", "error", err)
		}
	})
	m.logger.Info("api listening", "socket", p)
	return nil
}

// removeSocket removes the socket at exit.
func (m *machined) removeSocket() {
	err := os.Remove(m.path(constants.MachinedSocket))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		m.logger.Warn("remove api socket failed", "error", err)
	}
}
