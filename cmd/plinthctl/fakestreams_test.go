package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

// sendData streams chunks to every target; a failing target gets one
// error item.
func (m *fakeMachine) sendData(ss grpc.ServerStreamingServer[common.Data], chunks func(node string) []string) error {
	var err error
	m.f.eachTarget(ss.Context(), func(node string, md *common.Metadata) {
		if err != nil {
			return
		}
		if md.Error != "" {
			err = ss.Send(&common.Data{Metadata: md})
			return
		}
		for _, c := range chunks(node) {
			if err = ss.Send(&common.Data{Metadata: md, Bytes: []byte(c)}); err != nil {
				return
			}
		}
	})
	return err
}

func (m *fakeMachine) Logs(req *machine.LogsRequest, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "Logs", req)
	if req.GetId() == "nope" {
		return status.Error(codes.NotFound, `no service "nope"`)
	}
	return m.sendData(ss, func(node string) []string {
		// Chunks cut lines in two, as a real stream may.
		return []string{req.GetId() + " on " + hostnameOf(node) + ": starting\n" + req.GetId() + ": rea", "dy\n", "last line without newline"}
	})
}

func (m *fakeMachine) Dmesg(req *machine.DmesgRequest, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "Dmesg", req)
	return m.sendData(ss, func(string) []string {
		return []string{"[    0.000000] Linux version 6.1.0-56-cloud-amd64\n", "[    1.234567] virtio_net virtio0 eth0: renamed\n"}
	})
}

func (m *fakeMachine) Read(req *machine.ReadRequest, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "Read", req)
	if req.GetPath() != "/etc/hostname" {
		return status.Errorf(codes.NotFound, "open %s: no such file or directory", req.GetPath())
	}
	return m.sendData(ss, func(node string) []string { return []string{hostnameOf(node), "\n"} })
}

// fakeFiles is the canned tree List walks: /var/log.
var fakeFiles = []*machine.FileInfo{
	{Name: "/var/log", RelativeName: ".", Mode: uint32(fs.ModeDir | 0o755), IsDir: true, Size: 4096},
	{Name: "/var/log/containerd.log", RelativeName: "containerd.log", Mode: 0o644, Size: 12345},
	{Name: "/var/log/current", RelativeName: "current", Mode: uint32(fs.ModeSymlink | 0o777), Link: "etcd/etcd.log"},
	{Name: "/var/log/etcd", RelativeName: "etcd", Mode: uint32(fs.ModeDir | 0o700), IsDir: true, Size: 4096},
	{Name: "/var/log/etcd/etcd.log", RelativeName: "etcd/etcd.log", Mode: 0o600, Size: 987},
	{Name: "/var/log/secret", RelativeName: "secret", Error: "open: permission denied"},
}

func (m *fakeMachine) List(req *machine.ListRequest, ss grpc.ServerStreamingServer[machine.FileInfo]) error {
	m.f.record(ss.Context(), "List", req)
	var err error
	m.f.eachTarget(ss.Context(), func(_ string, md *common.Metadata) {
		if err != nil {
			return
		}
		if md.Error != "" {
			err = ss.Send(&machine.FileInfo{Metadata: md})
			return
		}
		for _, fi := range fakeFiles {
			depth := strings.Count(fi.GetRelativeName(), "/") + 1
			if fi.GetRelativeName() == "." {
				depth = 0
			}
			if depth > 1 && (!req.GetRecurse() || (req.GetRecursionDepth() > 0 && depth > int(req.GetRecursionDepth()))) {
				continue
			}
			fi := &machine.FileInfo{Metadata: md, Name: fi.Name, RelativeName: fi.RelativeName, Mode: fi.Mode,
				Size: fi.Size, Modified: fakeBase.Unix(), IsDir: fi.IsDir, Link: fi.Link, Error: fi.Error}
			if err = ss.Send(fi); err != nil {
				return
			}
		}
	})
	return err
}

// fakeTarGz is the canned archive Copy sends for a root; "/evil" holds an
// entry that climbs out of the destination.
func fakeTarGz(root string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		h.ModTime = fakeBase
		_ = tw.WriteHeader(h)
		_, _ = tw.Write([]byte(body))
	}
	if root == "/evil" {
		add(&tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644}, "gotcha\n")
	} else {
		add(&tar.Header{Name: "log/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
		add(&tar.Header{Name: "log/etcd.log", Typeflag: tar.TypeReg, Mode: 0o600}, "etcd started\n")
		add(&tar.Header{Name: "log/sub/deep.log", Typeflag: tar.TypeReg, Mode: 0o644}, "deep\n")
		add(&tar.Header{Name: "log/current", Typeflag: tar.TypeSymlink, Linkname: "etcd.log"}, "")
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func (m *fakeMachine) Copy(req *machine.CopyRequest, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "Copy", req)
	return m.sendData(ss, func(string) []string {
		data := string(fakeTarGz(req.GetRootPath()))
		return []string{data[:len(data)/2], data[len(data)/2:]}
	})
}

func (m *fakeMachine) Events(req *machine.EventsRequest, ss grpc.ServerStreamingServer[machine.Event]) error {
	m.f.record(ss.Context(), "Events", req)
	replay, ch, cancel := m.f.subscribe(int(req.GetTailEvents()))
	defer cancel()
	m.f.mu.Lock()
	follow := m.f.followEvents
	m.f.mu.Unlock()
	targets := []*common.Metadata{}
	m.f.eachTarget(ss.Context(), func(_ string, md *common.Metadata) { targets = append(targets, md) })
	send := func(ev *machine.Event) error {
		for _, md := range targets {
			if md.Error != "" {
				continue
			}
			out := &machine.Event{Metadata: md, Id: ev.GetId(), Time: ev.GetTime(), Payload: ev.GetPayload()}
			if err := ss.Send(out); err != nil {
				return err
			}
		}
		return nil
	}
	for _, md := range targets {
		if md.Error != "" {
			if err := ss.Send(&machine.Event{Metadata: md}); err != nil {
				return err
			}
		}
	}
	for _, ev := range replay {
		if err := send(ev); err != nil {
			return err
		}
	}
	for follow {
		select {
		case <-ss.Context().Done():
			return nil
		case ev := <-ch:
			if err := send(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// power answers a power RPC for every target and, when the node follows
// events (power tests), plays the action: its events, then a power cycle.
func (m *fakeMachine) power(ctx context.Context, seq, stage string, back bool) []*common.Metadata {
	var mds []*common.Metadata
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) { mds = append(mds, md) })
	m.f.mu.Lock()
	play := m.f.followEvents && !m.f.stuck
	m.f.mu.Unlock()
	if play {
		m.f.waitSubscriber(2 * time.Second)
		m.f.publish(seqEvent(seq, true), phaseEvent(seq, "stopServices", true), phaseEvent(seq, "stopServices", false),
			statusEvent(stage, false))
		m.f.powerCycle(back)
	}
	return mds
}

func (m *fakeMachine) Reboot(ctx context.Context, req *machine.RebootRequest) (*machine.RebootResponse, error) {
	m.f.record(ctx, "Reboot", req)
	resp := &machine.RebootResponse{}
	for _, md := range m.power(ctx, "reboot", "rebooting", true) {
		resp.Messages = append(resp.Messages, &machine.Reboot{Metadata: md, ActorId: "actor-1"})
	}
	return resp, nil
}

func (m *fakeMachine) Shutdown(ctx context.Context, req *machine.ShutdownRequest) (*machine.ShutdownResponse, error) {
	m.f.record(ctx, "Shutdown", req)
	resp := &machine.ShutdownResponse{}
	for _, md := range m.power(ctx, "shutdown", "shutting down", false) {
		resp.Messages = append(resp.Messages, &machine.Shutdown{Metadata: md, ActorId: "actor-1"})
	}
	return resp, nil
}

func (m *fakeMachine) Reset(ctx context.Context, req *machine.ResetRequest) (*machine.ResetResponse, error) {
	m.f.record(ctx, "Reset", req)
	resp := &machine.ResetResponse{}
	for _, md := range m.power(ctx, "reset", "resetting", req.GetReboot()) {
		resp.Messages = append(resp.Messages, &machine.Reset{Metadata: md, ActorId: "actor-1"})
	}
	return resp, nil
}

// machineEvent builds service and config events for tests.
type machineEvent struct {
	service, state, msg string
	config              string
}

func (e machineEvent) event() *machine.Event {
	if e.config != "" {
		return &machine.Event{Payload: &machine.Event_Config{Config: &machine.ConfigEvent{Message: e.config}}}
	}
	return &machine.Event{Payload: &machine.Event_Service{Service: &machine.ServiceStateEvent{Service: e.service, State: e.state, Message: e.msg}}}
}
