package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/server"
)

// writePodLog writes a CRI log file of a container.
func writePodLog(t *testing.T, dir, podDir, ctr, file, content string) string {
	t.Helper()
	p := filepath.Join(dir, podDir, ctr, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const criLines = "2026-11-27T10:00:00.000000001Z stdout F first\n" +
	"2026-11-27T10:00:01.000000001Z stderr P sec\n" +
	"2026-11-27T10:00:01.000000002Z stderr F ond\n" +
	"2026-11-27T10:00:02.000000001Z stdout F third\n"

func TestKubernetesLogs(t *testing.T) {
	dir := t.TempDir()
	writePodLog(t, dir, "kube-system_coredns-abc_u1", "coredns", "0.log", "2026-11-27T09:00:00Z stdout F old run\n")
	writePodLog(t, dir, "kube-system_coredns-abc_u1", "coredns", "1.log", criLines)
	writePodLog(t, dir, "default_web_u2", "web", "0.log", criLines)
	writePodLog(t, dir, "other_web_u3", "web", "0.log", criLines)
	c := kubeHarness(t, nil, &fakeServices{}, server.KubernetesOptions{PodLogDir: dir})
	ctx := context.Background()
	read := func(id string, tail int32) (string, error) {
		stream, err := c.Logs(ctx, &machine.LogsRequest{Id: id, Kubernetes: true, TailLines: tail})
		if err != nil {
			return "", err
		}
		chunks, err := drain(stream.Recv)
		var sb strings.Builder
		for _, ch := range chunks {
			sb.Write(ch.GetBytes())
		}
		return sb.String(), err
	}
	got, err := read("coredns-abc/coredns", -1)
	if err != nil || got != "first\nsecond\nthird\n" {
		t.Fatalf("logs = %q, %v", got, err)
	}
	if got, err = read("kube-system/coredns-abc/coredns", 2); err != nil || got != "second\nthird\n" {
		t.Fatalf("logs --tail 2 = %q, %v", got, err)
	}
	_, err = read("web/web", -1)
	wantCode(t, err, codes.InvalidArgument, "several namespaces (default, other)")
	if got, err = read("other/web/web", 1); err != nil || got != "third\n" {
		t.Fatalf("logs other/web/web = %q, %v", got, err)
	}
	_, err = read("nope/nope", -1)
	wantCode(t, err, codes.NotFound, "no logs of container nope/nope")
	for _, id := range []string{"web", "a/b/c/d", "*/web", "web/../x"} {
		_, err = read(id, -1)
		wantCode(t, err, codes.InvalidArgument, "")
	}
	c = kubeHarness(t, nil, &fakeServices{}, server.KubernetesOptions{})
	_, err = func() (string, error) {
		stream, err := c.Logs(ctx, &machine.LogsRequest{Id: "a/b", Kubernetes: true})
		if err != nil {
			return "", err
		}
		_, err = drain(stream.Recv)
		return "", err
	}()
	wantCode(t, err, codes.FailedPrecondition, "Kubernetes is not configured")
}

func TestKubernetesLogsFollow(t *testing.T) {
	dir := t.TempDir()
	p := writePodLog(t, dir, "default_web_u2", "web", "0.log", "2026-11-27T10:00:00Z stdout F one\n")
	c := kubeHarness(t, nil, &fakeServices{}, server.KubernetesOptions{PodLogDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.Logs(ctx, &machine.LogsRequest{Id: "web/web", Kubernetes: true, Follow: true, TailLines: -1})
	if err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		d, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return string(d.GetBytes())
	}
	if got := next(); got != "one\n" {
		t.Fatalf("first chunk %q", got)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("2026-11-27T10:00:01Z stdout F two\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := next(); got != "two\n" {
		t.Fatalf("appended line %q", got)
	}
	// The container restarts: kubelet writes 1.log.
	writePodLog(t, dir, "default_web_u2", "web", "1.log", "2026-11-27T10:00:02Z stdout F restarted\n")
	if got := next(); got != "restarted\n" {
		t.Fatalf("after restart %q", got)
	}
	cancel()
}

// FuzzKubernetesRequests sends arbitrary etcd, image, container and
// container-log requests: none may panic or reach outside the pod log
// directory.
func FuzzKubernetesRequests(f *testing.F) {
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "default_web_u1", "web"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default_web_u1", "web", "0.log"), []byte(criLines), 0o644); err != nil {
		f.Fatal(err)
	}
	rt := &fakeRuntime{imported: map[string][]byte{}}
	k := etcdOptions(&fakeEtcd{self: 1, members: []uint64{1, 2}})
	k.Containerd = func(context.Context) (server.ContainerRuntime, error) { return rt, nil }
	k.PodLogDir = dir
	c := kubeHarnessTB(f, &fakeServices{running: []string{"etcd"}}, k)
	seeds := []proto.Message{
		&machine.LogsRequest{Id: "default/web/web", Kubernetes: true, TailLines: -3},
		&machine.EtcdRemoveMemberRequest{MemberId: 2},
		&machine.ImageListRequest{Namespace: "k8s.io"},
		&machine.ContainersRequest{Namespace: "system", Driver: 7},
		&machine.ImageImportRequest{Request: &machine.ImageImportRequest_Header{Header: &machine.ImageImportHeader{Namespace: "x"}}},
	}
	for i, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		switch which % 5 {
		case 0:
			var r machine.LogsRequest
			if proto.Unmarshal(data, &r) == nil {
				r.Follow, r.Kubernetes = false, true
				if s, err := c.Logs(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		case 1:
			var r machine.EtcdRemoveMemberRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = c.EtcdRemoveMember(ctx, &r)
			}
		case 2:
			var r machine.ImageListRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = c.ImageList(ctx, &r)
			}
		case 3:
			var r machine.ContainersRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = c.Containers(ctx, &r)
			}
		case 4:
			var r machine.ImageImportRequest
			if proto.Unmarshal(data, &r) == nil {
				if s, err := c.ImageImport(ctx); err == nil {
					_ = s.Send(&r)
					_ = s.Send(&r)
					_, _ = s.CloseAndRecv()
				}
			}
		}
	})
}
