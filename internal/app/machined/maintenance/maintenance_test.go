package maintenance_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/app/machined/maintenance"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	res "github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type node struct{}

func (node) Platform() string  { return "metal" }
func (node) Maintenance() bool { return true }
func (node) Apply(_ context.Context, r apply.Request) (*apply.Result, error) {
	return &apply.Result{Mode: r.Mode, Details: "applied in maintenance mode"}, nil
}
func (node) Config() []byte                                   { return nil }
func (node) Hostname(context.Context) (string, error)         { return "n", nil }
func (node) Reboot(context.Context) error                     { return nil }
func (node) Shutdown(context.Context, bool) error             { return nil }
func (node) Reset(context.Context, server.ResetOptions) error { return nil }

var secretDef = res.Definition{Type: "Secrets.test.plinth.dev", DefaultNamespace: "test", Sensitive: true}

func TestMaintenanceServer(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	sup := supervisor.New(supervisor.Options{Logger: quiet})
	reg := res.NewRegistry()
	if err := reg.Register(secretDef); err != nil {
		t.Fatal(err)
	}
	st := inmem.New()
	if err := st.Create(context.Background(), res.NewTyped("test", secretDef.Type, "s", struct{}{})); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	srv, err := maintenance.Start(maintenance.Options{
		Listen:    "127.0.0.1:0",
		Addresses: func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("192.0.2.7")}, nil },
		Machine: server.NewMachine(server.MachineOptions{Node: node{}, Services: sup, Events: events.New(0, nil),
			Logger: quiet}),
		Resources: server.NewResources(st, reg, quiet),
		Console:   &console, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	if !strings.Contains(console.String(), "waiting for a machine config on "+addr+"; certificate fingerprint SHA256 "+srv.Fingerprint()) {
		t.Fatalf("console = %q", console.String())
	}

	var peer *x509.Certificate
	creds := credentials.NewTLS(&tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // the test checks the certificate itself
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			var err error
			peer, err = x509.ParseCertificate(raw[0])
			return err
		},
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mc, rc := machine.NewMachineServiceClient(conn), resource.NewResourceServiceClient(conn)
	ctx := context.Background()

	v, err := mc.Version(ctx, &emptypb.Empty{})
	if err != nil || !v.GetMessages()[0].GetMaintenance() {
		t.Fatalf("Version = %v, %v", v, err)
	}
	fp, _ := pki.Fingerprint(peer.Raw)
	if fp != srv.Fingerprint() || !hasIP(peer, "192.0.2.7") || !hasIP(peer, "127.0.0.1") {
		t.Fatalf("certificate: fingerprint %s, IPs %v", fp, peer.IPAddresses)
	}
	if _, err := mc.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = mc.Reboot(ctx, &machine.RebootRequest{})
	denied(t, err)
	ev, err := mc.Events(ctx, &machine.EventsRequest{})
	if err == nil {
		_, err = ev.Recv()
	}
	denied(t, err)
	w, err := rc.Watch(ctx, &resource.WatchRequest{Type: "secrets"})
	if err == nil {
		_, err = w.Recv()
	}
	denied(t, err)
	admin := metadata.AppendToOutgoingContext(ctx, constants.RolesMetadataKey, "os:admin")
	_, err = rc.Get(admin, &resource.GetRequest{Type: "secrets", Id: "s"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("sensitive Get in maintenance = %v", err)
	}

	conn.Close()
	srv.Stop()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	lis.Close()
}

func denied(t *testing.T, err error) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != maintenance.DeniedMessage {
		t.Fatalf("error = %v, want PermissionDenied %q", err, maintenance.DeniedMessage)
	}
}

func hasIP(c *x509.Certificate, ip string) bool {
	for _, a := range c.IPAddresses {
		if a.String() == ip {
			return true
		}
	}
	return false
}
