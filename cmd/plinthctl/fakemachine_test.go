package main

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

// fakeMachine is the fake node's MachineService: canned answers for each
// node, recorded requests. Streams are in fakestreams_test.go.
type fakeMachine struct {
	machine.UnimplementedMachineServiceServer
	f *fakeNode
}

// hostnameOf is the canned hostname of a node: "node-10-5-0-2".
func hostnameOf(node string) string {
	if node == "" {
		return "local-node"
	}
	return "node-" + strings.NewReplacer(".", "-", ":", "-").Replace(node)
}

func at(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(fakeBase.Add(d)) }

func (m *fakeMachine) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	m.f.record(ctx, "Version", nil)
	m.f.mu.Lock()
	maint := m.f.maintenance
	m.f.mu.Unlock()
	resp := &machine.VersionResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		v := &machine.Version{Metadata: md}
		if md.Error == "" {
			v.Version = &machine.VersionInfo{Tag: "v0.3.0", GoVersion: "go1.26.8", Os: "linux", Arch: "amd64", Kubernetes: "v1.37.2"}
			v.Platform = &machine.PlatformInfo{Mode: "metal"}
			v.Maintenance = maint
		}
		resp.Messages = append(resp.Messages, v)
	})
	return resp, nil
}

// applyDetails is what the fake says it did for each mode.
var applyDetails = map[machine.ApplyConfigurationRequest_Mode]string{
	machine.ApplyConfigurationRequest_AUTO:      "applied without a reboot",
	machine.ApplyConfigurationRequest_NO_REBOOT: "applied without a reboot",
	machine.ApplyConfigurationRequest_REBOOT:    "applied with a reboot, as asked",
	machine.ApplyConfigurationRequest_STAGED:    "staged: the config is applied at the next boot",
	machine.ApplyConfigurationRequest_TRY:       "applied without a reboot in try mode",
}

func (m *fakeMachine) ApplyConfiguration(ctx context.Context, req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	line := "ApplyConfiguration mode=" + req.GetMode().String()
	if req.GetDryRun() {
		line += " dry-run"
	}
	if t := req.GetTryModeTimeout(); t != nil {
		line += " timeout=" + t.AsDuration().String()
	}
	m.f.record(ctx, line, nil)
	resp := &machine.ApplyConfigurationResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.ApplyConfiguration{Metadata: md}
		if md.Error == "" {
			item.Mode = req.GetMode()
			item.ModeDetails = applyDetails[req.GetMode()]
			item.Warnings = []string{"MachineConfig machine.time.servers: time sync is disabled, so the servers are not used"}
			m.f.mu.Lock()
			if req.GetDryRun() {
				item.Diff = fakeDiff(string(m.f.machineConfig), string(req.GetData()))
			} else {
				m.f.machineConfig = req.GetData()
			}
			m.f.mu.Unlock()
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

// fakeDiff is a crude line diff: removed lines, then added ones.
func fakeDiff(old, next string) string {
	if old == next {
		return ""
	}
	var b strings.Builder
	b.WriteString("--- a/config.yaml\n+++ b/config.yaml\n")
	oldLines, newLines := strings.Split(strings.TrimSpace(old), "\n"), strings.Split(strings.TrimSpace(next), "\n")
	for _, l := range oldLines {
		if !strings.Contains(next, l) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range newLines {
		if !strings.Contains(old, l) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}

func (m *fakeMachine) GetConfiguration(ctx context.Context, _ *emptypb.Empty) (*machine.GetConfigurationResponse, error) {
	m.f.record(ctx, "GetConfiguration", nil)
	resp := &machine.GetConfigurationResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.GetConfiguration{Metadata: md}
		if md.Error == "" {
			m.f.mu.Lock()
			item.Data = m.f.machineConfig
			m.f.mu.Unlock()
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

// fakeServices are the canned services of every node.
func fakeServices() []*machine.ServiceInfo {
	ok := func(d time.Duration) *machine.ServiceHealth {
		return &machine.ServiceHealth{Healthy: true, LastMessage: "", LastChange: at(d)}
	}
	return []*machine.ServiceInfo{
		{Id: "apid", State: "Running", Health: ok(2 * time.Minute), Events: []*machine.ServiceEvent{
			{State: "Preparing", Msg: "Running pre-flight checks", Ts: at(time.Minute)},
			{State: "Running", Msg: "Started", Ts: at(90 * time.Second)},
		}},
		{Id: "etcd", State: "Preparing", DependsOn: []string{"containerd"}, Health: &machine.ServiceHealth{Unknown: true},
			Events: []*machine.ServiceEvent{{State: "Waiting", Msg: "Waiting for containerd", Ts: at(59 * time.Minute)}}},
		{Id: "kubelet", State: "Running", DependsOn: []string{"containerd", "etcd"},
			Health: &machine.ServiceHealth{LastMessage: "dial tcp 127.0.0.1:10248: connection refused", LastChange: at(55 * time.Minute)}},
	}
}

func (m *fakeMachine) ServiceList(ctx context.Context, _ *emptypb.Empty) (*machine.ServiceListResponse, error) {
	m.f.record(ctx, "ServiceList", nil)
	resp := &machine.ServiceListResponse{}
	m.f.eachTarget(ctx, func(node string, md *common.Metadata) {
		item := &machine.ServiceList{Metadata: md}
		switch {
		case md.Error != "":
		case m.f.services != nil:
			item.Services = m.f.services(node)
		default:
			item.Services = fakeServices()
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) serviceAction(ctx context.Context, verb string, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	m.f.record(ctx, "Service"+verb, req)
	resp := &machine.ServiceActionResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.ServiceAction{Metadata: md}
		if md.Error == "" {
			item.Resp = "service \"" + req.GetId() + "\": " + strings.ToLower(verb) + " requested"
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) ServiceStart(ctx context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	return m.serviceAction(ctx, "Start", req)
}

func (m *fakeMachine) ServiceStop(ctx context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	return m.serviceAction(ctx, "Stop", req)
}

func (m *fakeMachine) ServiceRestart(ctx context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	return m.serviceAction(ctx, "Restart", req)
}

func (m *fakeMachine) Processes(ctx context.Context, _ *emptypb.Empty) (*machine.ProcessesResponse, error) {
	m.f.record(ctx, "Processes", nil)
	resp := &machine.ProcessesResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.Processes{Metadata: md}
		if md.Error == "" {
			item.Processes = []*machine.ProcessInfo{
				{Pid: 812, State: "S", Threads: 14, CpuTime: 73.456, VirtualMemory: 2 << 30, ResidentMemory: 310 << 20,
					Command: "kube-apiserve", Executable: "/usr/local/bin/kube", Args: "kube-apiserver --etcd-servers=https://127.0.0.1:2379"},
				{Pid: 1, State: "S", Threads: 9, CpuTime: 1.2, VirtualMemory: 1300 << 20, ResidentMemory: 40 << 20, Command: "init", Executable: "/sbin/init"},
				{Pid: 640, State: "S", Threads: 12, CpuTime: 12.5, VirtualMemory: 11 << 30, ResidentMemory: 45 << 20,
					Command: "etcd", Args: "etcd --data-dir=/var/lib/etcd"},
				{Pid: 77, State: "R", Threads: 1, CpuTime: 0.004, VirtualMemory: 900, ResidentMemory: 0, Command: "kworker/0:1"},
			}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) Memory(ctx context.Context, _ *emptypb.Empty) (*machine.MemoryResponse, error) {
	m.f.record(ctx, "Memory", nil)
	resp := &machine.MemoryResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.Memory{Metadata: md}
		if md.Error == "" {
			item.Meminfo = &machine.MemInfo{MemTotal: 4096 << 20, MemFree: 1024 << 20, MemAvailable: 2900 << 20,
				Buffers: 100 << 20, Cached: 1500 << 20, Shmem: 12 << 20}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) Mounts(ctx context.Context, _ *emptypb.Empty) (*machine.MountsResponse, error) {
	m.f.record(ctx, "Mounts", nil)
	resp := &machine.MountsResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.Mounts{Metadata: md}
		if md.Error == "" {
			item.Stats = []*machine.MountStat{
				{Filesystem: "/dev/vda3", Size: 10_737_418_240, Available: 7_516_192_768, MountedOn: "/var", Type: "xfs"},
				{Filesystem: "proc", MountedOn: "/proc", Type: "proc"},
				{Filesystem: "/dev/loop0", Size: 75_000_000, Available: 0, MountedOn: "/", Type: "squashfs"},
			}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) Hostname(ctx context.Context, _ *emptypb.Empty) (*machine.HostnameResponse, error) {
	m.f.record(ctx, "Hostname", nil)
	resp := &machine.HostnameResponse{}
	m.f.eachTarget(ctx, func(node string, md *common.Metadata) {
		item := &machine.Hostname{Metadata: md}
		if md.Error == "" {
			item.Hostname = hostnameOf(node)
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) Netstat(ctx context.Context, req *machine.NetstatRequest) (*machine.NetstatResponse, error) {
	m.f.record(ctx, "Netstat", req)
	all := []*machine.ConnectRecord{
		{L4Proto: "tcp", LocalIp: "0.0.0.0", LocalPort: 50000, RemoteIp: "0.0.0.0", State: "LISTEN", Pid: 412, ProcessName: "apid"},
		{L4Proto: "tcp6", LocalIp: "::", LocalPort: 10250, RemoteIp: "::", State: "LISTEN", Pid: 900, ProcessName: "kubelet"},
		{L4Proto: "tcp", LocalIp: "10.5.0.2", LocalPort: 50000, RemoteIp: "10.5.0.1", RemotePort: 41234, State: "ESTABLISHED", TxQueue: 0, RxQueue: 12},
		{L4Proto: "udp", LocalIp: "0.0.0.0", LocalPort: 8472, RemoteIp: "0.0.0.0", State: "", Pid: 0},
	}
	var records []*machine.ConnectRecord
	for _, r := range all {
		listening := r.GetState() == "LISTEN" || r.GetL4Proto() == "udp"
		protoOK := map[string]bool{"tcp": req.GetTcp(), "tcp6": req.GetTcp6(), "udp": req.GetUdp(), "udp6": req.GetUdp6()}[r.GetL4Proto()]
		filterOK := req.GetFilter() == machine.NetstatRequest_ALL ||
			(req.GetFilter() == machine.NetstatRequest_LISTENING) == listening
		if protoOK && filterOK {
			records = append(records, r)
		}
	}
	resp := &machine.NetstatResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.Netstat{Metadata: md}
		if md.Error == "" {
			item.ConnectRecords = records
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}
