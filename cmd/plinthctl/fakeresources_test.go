package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	resruntime "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// fakeResources is the fake node's ResourceService over a few canned
// resources of real types.
type fakeResources struct {
	resourceapi.UnimplementedResourceServiceServer
	f *fakeNode
}

// fakeRegistry knows the definitions the fake serves.
func fakeRegistry() *resource.Registry {
	r := resource.NewRegistry()
	defs := append(slices.Clone(resruntime.Definitions), resconfig.Definitions...)
	if err := r.Register(defs...); err != nil {
		panic(err)
	}
	return r
}

// state returns the fake's resources of def on node, sorted by id.
func (s *fakeResources) state(def resource.Definition, node string) []resource.Resource {
	stamp := func(r resource.Resource, version uint64) resource.Resource {
		md := r.Metadata()
		md.Version, md.Created, md.Updated = version, fakeBase, fakeBase.Add(time.Duration(version)*time.Minute)
		md.Owner = "test"
		return r
	}
	switch def.Type {
	case resource.DefinitionType:
		var out []resource.Resource
		for _, d := range fakeRegistry().List() {
			out = append(out, stamp(d.Resource(), 1))
		}
		return out
	case resruntime.MachineStatusType:
		ms := resruntime.NewMachineStatus()
		s.f.mu.Lock()
		ms.TypedSpec().Stage, ms.TypedSpec().Ready = resruntime.Stage(s.f.stage), s.f.ready
		s.f.mu.Unlock()
		return []resource.Resource{stamp(ms, 3)}
	case resconfig.MachineTypeType:
		s.f.mu.Lock()
		kube := s.f.kube != nil
		s.f.mu.Unlock()
		if !kube { // only nodes with Kubernetes say what they are
			return nil
		}
		mt := resconfig.NewMachineType()
		mt.TypedSpec().Type = "worker"
		if node == "10.5.0.2" || node == "" {
			mt.TypedSpec().Type = "controlplane"
		}
		return []resource.Resource{stamp(mt, 1)}
	case resruntime.ServiceType:
		apid, etcd := resruntime.NewService("apid"), resruntime.NewService("etcd")
		*apid.TypedSpec() = resruntime.ServiceSpec{State: "Running", Running: true, Healthy: true}
		*etcd.TypedSpec() = resruntime.ServiceSpec{State: "Preparing", Unknown: true, Message: "Waiting for containerd"}
		apid.Metadata().Labels = map[string]string{"role": "api"}
		return []resource.Resource{stamp(apid, 2), stamp(etcd, 5)}
	}
	return nil
}

// lookup resolves a type name like the node does.
func (s *fakeResources) lookup(typ string) (resource.Definition, error) {
	def, err := fakeRegistry().Lookup(typ)
	if err != nil {
		return def, status.Error(codes.NotFound, err.Error())
	}
	return def, nil
}

// encode converts a resource to its API form, the spec as YAML.
func encode(r resource.Resource) *resourceapi.Resource {
	full, err := resource.MarshalYAML(r)
	if err != nil {
		panic(err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(full, &doc); err != nil {
		panic(err)
	}
	specNode := doc["spec"]
	spec, err := yaml.Marshal(&specNode)
	if err != nil {
		panic(err)
	}
	md := r.Metadata()
	return &resourceapi.Resource{
		Metadata: &resourceapi.ResourceMetadata{
			Namespace: md.Namespace, Type: md.Type, Id: md.ID, Version: md.Version, Owner: md.Owner,
			Phase: md.Phase.String(), Created: timestamppb.New(md.Created), Updated: timestamppb.New(md.Updated),
			Labels: md.Labels,
		},
		Spec: spec,
	}
}

// apiDefinition converts a definition to its API form.
func apiDefinition(d resource.Definition) *resourceapi.Definition {
	out := &resourceapi.Definition{Type: d.Type, DefaultNamespace: d.DefaultNamespace, Aliases: d.Aliases}
	for _, c := range d.PrintColumns {
		out.PrintColumns = append(out.PrintColumns, &resourceapi.Column{Name: c.Name, JsonPath: c.JSONPath})
	}
	return out
}

// inNamespace keeps the resources of namespace (default: the type's).
func inNamespace(def resource.Definition, namespace string, rs []resource.Resource) []resource.Resource {
	if namespace == "" {
		namespace = def.DefaultNamespace
	}
	var out []resource.Resource
	for _, r := range rs {
		if r.Metadata().Namespace == namespace {
			out = append(out, r)
		}
	}
	return out
}

func (s *fakeResources) Get(ctx context.Context, req *resourceapi.GetRequest) (*resourceapi.GetResponse, error) {
	s.f.record(ctx, "Resources.Get", req)
	def, err := s.lookup(req.GetType())
	if err != nil {
		return nil, err
	}
	resp := &resourceapi.GetResponse{}
	s.f.eachTarget(ctx, func(node string, md *common.Metadata) {
		item := &resourceapi.Get{Metadata: md}
		if md.Error == "" {
			for _, r := range inNamespace(def, req.GetNamespace(), s.state(def, node)) {
				if r.Metadata().ID == req.GetId() {
					item.Definition, item.Resource = apiDefinition(def), encode(r)
				}
			}
			if item.Resource == nil {
				md.Error = fmt.Sprintf("%s %q not found", def.Type, req.GetId())
			}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (s *fakeResources) List(req *resourceapi.ListRequest, ss grpc.ServerStreamingServer[resourceapi.ListResponse]) error {
	s.f.record(ss.Context(), "Resources.List", req)
	def, err := s.lookup(req.GetType())
	if err != nil {
		return err
	}
	s.f.eachTarget(ss.Context(), func(node string, md *common.Metadata) {
		if err != nil {
			return
		}
		if md.Error != "" {
			err = ss.Send(&resourceapi.ListResponse{Metadata: md})
			return
		}
		for _, r := range inNamespace(def, req.GetNamespace(), s.state(def, node)) {
			if sel := req.GetLabelSelector(); sel != "" && !strings.Contains(fmt.Sprint(r.Metadata().Labels), strings.ReplaceAll(sel, "=", ":")) {
				continue
			}
			if err = ss.Send(&resourceapi.ListResponse{Metadata: md, Definition: apiDefinition(def), Resource: encode(r)}); err != nil {
				return
			}
		}
	})
	return err
}

func (s *fakeResources) Watch(req *resourceapi.WatchRequest, ss grpc.ServerStreamingServer[resourceapi.WatchResponse]) error {
	s.f.record(ss.Context(), "Resources.Watch", req)
	def, err := s.lookup(req.GetType())
	if err != nil {
		return err
	}
	pdef := apiDefinition(def)
	s.f.eachTarget(ss.Context(), func(node string, md *common.Metadata) {
		if err != nil {
			return
		}
		if md.Error != "" {
			err = ss.Send(&resourceapi.WatchResponse{Metadata: md})
			return
		}
		rs := inNamespace(def, req.GetNamespace(), s.state(def, node))
		var events []*resourceapi.WatchResponse
		for _, r := range rs {
			events = append(events, &resourceapi.WatchResponse{EventType: resourceapi.EventType_CREATED, Resource: encode(r)})
		}
		events = append(events, &resourceapi.WatchResponse{EventType: resourceapi.EventType_BOOTSTRAPPED})
		if len(rs) > 0 {
			last := rs[len(rs)-1]
			last.Metadata().Version++
			events = append(events,
				&resourceapi.WatchResponse{EventType: resourceapi.EventType_UPDATED, Resource: encode(last)},
				&resourceapi.WatchResponse{EventType: resourceapi.EventType_DESTROYED, Resource: encode(last)})
		}
		for _, ev := range events {
			ev.Metadata, ev.Definition = md, pdef
			if err = ss.Send(ev); err != nil {
				return
			}
		}
	})
	return err
}
