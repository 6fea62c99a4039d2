package machined_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

func TestInspection(t *testing.T) {
	n := startNode(t, false)
	mc, _, _ := configured(t, n)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(n.root, "var", "hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := mc.Read(ctx, &machine.ReadRequest{Path: "/var/hello.txt"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := drainData(rs.Recv)
	if err != nil || string(data) != "hello" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	rs, _ = mc.Read(ctx, &machine.ReadRequest{Path: "/system/state/config.yaml"})
	_, err = drainData(rs.Recv)
	wantCode(t, err, codes.PermissionDenied, "")
	ls, err := mc.List(ctx, &machine.ListRequest{Root: "/var"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		fi, err := ls.Recv()
		if err != nil {
			break
		}
		found = found || fi.GetName() == "/var/hello.txt" || fi.GetRelativeName() == "hello.txt"
	}
	if !found {
		t.Fatal("List /var did not show hello.txt")
	}
	hn, err := mc.Hostname(ctx, &emptypb.Empty{})
	if err != nil || hn.GetMessages()[0].GetHostname() == "" {
		t.Fatalf("Hostname = %v, %v", hn, err)
	}
	ps, err := mc.Processes(ctx, &emptypb.Empty{})
	if err != nil || len(ps.GetMessages()[0].GetProcesses()) == 0 {
		t.Fatalf("Processes = %v", err)
	}
	if _, err := mc.Memory(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("Memory = %v", err)
	}
}

func drainData(recv func() (*common.Data, error)) ([]byte, error) {
	var out []byte
	for {
		d, err := recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, d.GetBytes()...)
	}
}
