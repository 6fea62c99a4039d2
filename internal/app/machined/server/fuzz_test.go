package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
)

// FuzzRequests decodes arbitrary bytes as API requests and sends them to
// the servers: every request must be validated before use, so nothing may
// panic, whatever the fields hold.
func FuzzRequests(f *testing.F) {
	h := newHarness(f)
	seeds := []proto.Message{
		&machine.LogsRequest{Id: "apid", TailLines: -5},
		&machine.ReadRequest{Path: "/../../etc/passwd"},
		&machine.ListRequest{Root: "/var", Recurse: true, RecursionDepth: -1},
		&machine.ServiceRequest{Id: ""},
		&machine.NetstatRequest{Filter: 7},
		&machine.ApplyConfigurationRequest{Data: []byte("kind: x"), Mode: 9},
		&resource.GetRequest{Type: "thing", Id: "a"},
		&resource.WatchRequest{Type: "nope", Bootstrap: true},
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
		switch which % 9 {
		case 0:
			var r machine.LogsRequest
			if proto.Unmarshal(data, &r) == nil {
				r.Follow = false
				if s, err := h.machine.Logs(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		case 1:
			var r machine.ReadRequest
			if proto.Unmarshal(data, &r) == nil {
				if s, err := h.machine.Read(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		case 2:
			var r machine.ListRequest
			if proto.Unmarshal(data, &r) == nil {
				if s, err := h.machine.List(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		case 3:
			var r machine.ServiceRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = h.machine.ServiceStart(ctx, &r)
				_, _ = h.machine.ServiceStop(ctx, &r)
			}
		case 4:
			var r machine.NetstatRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = h.machine.Netstat(ctx, &r)
			}
		case 5:
			var r machine.ApplyConfigurationRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = h.machine.ApplyConfiguration(ctx, &r)
			}
		case 6:
			var r resource.GetRequest
			if proto.Unmarshal(data, &r) == nil {
				_, _ = h.resource.Get(ctx, &r)
			}
		case 7:
			var r resource.WatchRequest
			if proto.Unmarshal(data, &r) == nil {
				if s, err := h.resource.Watch(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		case 8:
			var r resource.ListRequest
			if proto.Unmarshal(data, &r) == nil {
				if s, err := h.resource.List(ctx, &r); err == nil {
					drainAll(s.Recv)
				}
			}
		}
	})
}

// drainAll reads a stream until it ends (or its context times out).
func drainAll[T any](recv func() (T, error)) {
	for {
		if _, err := recv(); err != nil {
			return
		}
	}
}
