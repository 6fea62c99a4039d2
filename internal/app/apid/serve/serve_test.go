package serve

import (
	"context"
	"errors"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServeStopsWithContext(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	grpc_health_v1.RegisterHealthServer(srv, hs)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, lis, 50*time.Millisecond) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// An endless watch must not keep the server from stopping.
	w, err := grpc_health_v1.NewHealthClient(conn).Watch(t.Context(), &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	hs.Shutdown()
}

func TestServeListenerError(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis.Close()
	if err := Serve(t.Context(), grpc.NewServer(), lis, time.Second); err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  error
		want int
	}{
		{name: "clean", want: 0},
		{name: "run fails", err: errors.New("boom"), want: 1},
		{name: "unknown flag", args: []string{"--nope"}, want: 2},
		{name: "extra argument", args: []string{"extra"}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			got := Main(fs, tt.args, func(context.Context) error { return tt.err }, &stderr)
			if got != tt.want {
				t.Errorf("Main = %d, want %d (stderr %q)", got, tt.want, stderr.String())
			}
			if tt.err != nil && !strings.Contains(stderr.String(), "boom") {
				t.Errorf("stderr %q does not show the error", stderr.String())
			}
		})
	}
}
