package proxy

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTagMessageKeepsFields(t *testing.T) {
	in := &resource.WatchResponse{
		Metadata:  &common.Metadata{Error: "earlier error"},
		EventType: resource.EventType_UPDATED,
		Resource:  &resource.Resource{Metadata: &resource.ResourceMetadata{Id: "eth0", Version: 7}, Spec: []byte("a: b\n")},
	}
	var out resource.WatchResponse
	if err := proto.Unmarshal(TagMessage(mustMarshal(t, in), "10.5.0.2"), &out); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(in).(*resource.WatchResponse)
	want.Metadata.Node = "10.5.0.2"
	if !proto.Equal(&out, want) {
		t.Errorf("tagged message = %v, want %v", &out, want)
	}

	// A message without metadata, and an empty one, get metadata.
	for _, m := range []proto.Message{&common.Data{Bytes: []byte("log line")}, &common.Data{}} {
		var d common.Data
		if err := proto.Unmarshal(TagMessage(mustMarshal(t, m), "n1"), &d); err != nil {
			t.Fatal(err)
		}
		if d.GetMetadata().GetNode() != "n1" || string(d.Bytes) != string(m.(*common.Data).Bytes) {
			t.Errorf("tagged %v = %v", m, &d)
		}
	}
}

func TestTagItems(t *testing.T) {
	in := &machine.VersionResponse{Messages: []*machine.Version{
		{Version: &machine.VersionInfo{Tag: "v1"}, Maintenance: true},
		{Metadata: &common.Metadata{Node: "old"}, Platform: &machine.PlatformInfo{Mode: "container"}},
	}}
	b, err := TagItems(mustMarshal(t, in), "[fd00::1]:50000")
	if err != nil {
		t.Fatal(err)
	}
	var out machine.VersionResponse
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(in).(*machine.VersionResponse)
	want.Messages[0].Metadata = &common.Metadata{Node: "[fd00::1]:50000"}
	want.Messages[1].Metadata.Node = "[fd00::1]:50000"
	if !proto.Equal(&out, want) {
		t.Errorf("tagged = %v, want %v", &out, want)
	}
}

func TestTagItemsRejectsOtherShapes(t *testing.T) {
	// Field 1 as a varint does not follow the convention.
	if _, err := TagItems([]byte{0x08, 0x01}, "n"); !errors.Is(err, errConvention) {
		t.Errorf("varint field 1: error = %v, want errConvention", err)
	}
	if _, err := TagItems([]byte{0x0a, 0x05, 0x01}, "n"); err == nil {
		t.Error("truncated response: no error")
	}
}

func TestMergeUnary(t *testing.T) {
	a := mustMarshal(t, &machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: "a"}}})
	b := mustMarshal(t, &machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: "b1"}, {Hostname: "b2"}}})
	merged, err := MergeUnary([]NodeResult{
		{Node: "A", Response: a},
		{Node: "C", Err: status.Error(codes.Unavailable, "connection refused")},
		{Node: "B", Response: b},
		{Node: "E", Response: []byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out machine.HostnameResponse
	if err := proto.Unmarshal(merged, &out); err != nil {
		t.Fatal(err)
	}
	want := &machine.HostnameResponse{Messages: []*machine.Hostname{
		{Metadata: &common.Metadata{Node: "A"}, Hostname: "a"},
		{Metadata: &common.Metadata{Node: "C", Error: "Unavailable: connection refused"}},
		{Metadata: &common.Metadata{Node: "B"}, Hostname: "b1"},
		{Metadata: &common.Metadata{Node: "B"}, Hostname: "b2"},
	}}
	if !proto.Equal(&out, want) {
		t.Errorf("merged = %v\nwant %v", &out, want)
	}
}

func TestMergeUnaryMalformedNode(t *testing.T) {
	a := mustMarshal(t, &machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: "a"}}})
	merged, err := MergeUnary([]NodeResult{{Node: "A", Response: a}, {Node: "B", Response: []byte{0x08, 0x01}}})
	if err != nil {
		t.Fatal(err)
	}
	var out machine.HostnameResponse
	if err := proto.Unmarshal(merged, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 2 || out.Messages[0].Hostname != "a" || !strings.Contains(out.Messages[1].Metadata.GetError(), "fan-out convention") {
		t.Errorf("merged = %v", &out)
	}
}

func TestMergeUnaryAllFailed(t *testing.T) {
	tests := []struct {
		name string
		errs []error
		code codes.Code
	}{
		{name: "same code", errs: []error{status.Error(codes.PermissionDenied, "no"), status.Error(codes.PermissionDenied, "nope")}, code: codes.PermissionDenied},
		{name: "mixed codes", errs: []error{status.Error(codes.PermissionDenied, "no"), status.Error(codes.Unavailable, "down")}, code: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := []NodeResult{{Node: "A", Err: tt.errs[0]}, {Node: "B", Err: tt.errs[1]}}
			_, err := MergeUnary(results)
			if status.Code(err) != tt.code {
				t.Fatalf("error = %v, want code %s", err, tt.code)
			}
			for _, want := range []string{"A: ", "B: ", tt.errs[0].Error(), tt.errs[1].Error()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func FuzzTagItems(f *testing.F) {
	f.Add(mustMarshal(f, &machine.VersionResponse{Messages: []*machine.Version{{Maintenance: true}}}), "node")
	f.Add([]byte{0x0a, 0x00, 0x10, 0x01}, "")
	f.Fuzz(func(t *testing.T, resp []byte, node string) {
		out, err := TagItems(resp, node)
		if err != nil {
			return
		}
		// Tagging twice must give valid protobuf framing again.
		if _, err := TagItems(out, node); err != nil {
			t.Fatalf("tagged output does not parse: %v", err)
		}
	})
}
