package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// watchBuffer is the channel size of one Watch call.
const watchBuffer = 64

// Resources implements resource.ResourceServiceServer over a State.
type Resources struct {
	pb.UnimplementedResourceServiceServer
	state    runtime.State
	registry *resource.Registry
	logger   *slog.Logger
}

// NewResources returns the ResourceService server of st; registry names
// the types it serves.
func NewResources(st runtime.State, registry *resource.Registry, l *slog.Logger) *Resources {
	return &Resources{state: st, registry: registry, logger: logger(l).With("component", "resource-api")}
}

// lookup resolves a type name and namespace, checking access.
func (s *Resources) lookup(ctx context.Context, namespace, typ string) (resource.Definition, string, error) {
	if typ == "" {
		return resource.Definition{}, "", invalidArgument("type is empty: name a resource type or alias")
	}
	def, err := s.registry.Lookup(typ)
	if err != nil {
		return resource.Definition{}, "", status.Errorf(codes.NotFound, "%v", err)
	}
	if def.Sensitive && !mayReadSensitive(ctx) {
		return resource.Definition{}, "", status.Errorf(codes.PermissionDenied,
			"%s holds secrets: reading it needs the os:admin role", def.Type)
	}
	if namespace == "" {
		namespace = def.DefaultNamespace
	}
	return def, namespace, nil
}

// Get returns one resource.
func (s *Resources) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	def, ns, err := s.lookup(ctx, req.GetNamespace(), req.GetType())
	if err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		return nil, invalidArgument("id is empty: name the resource (use List for all)")
	}
	r, err := s.state.Get(ctx, resource.Ref{Namespace: ns, Type: def.Type, ID: req.GetId()})
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "%s %q not found in namespace %q", def.Type, req.GetId(), ns)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	enc, err := Encode(r)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GetResponse{Messages: []*pb.Get{{Definition: Definition(def), Resource: enc}}}, nil
}

// List streams the resources of a type, filtered by labels.
func (s *Resources) List(req *pb.ListRequest, srv grpc.ServerStreamingServer[pb.ListResponse]) error {
	def, ns, err := s.lookup(srv.Context(), req.GetNamespace(), req.GetType())
	if err != nil {
		return err
	}
	sel, err := resource.ParseSelector(req.GetLabelSelector())
	if err != nil {
		return invalidArgument("label_selector: %v", err)
	}
	list, err := s.state.List(srv.Context(), ns, def.Type, runtime.WithLabels(sel))
	if err != nil {
		return toStatus(err)
	}
	pdef := Definition(def)
	for _, r := range list {
		enc, err := Encode(r)
		if err != nil {
			return toStatus(err)
		}
		if err := srv.Send(&pb.ListResponse{Definition: pdef, Resource: enc}); err != nil {
			return err
		}
	}
	return nil
}

// Watch streams changes of a type, or of one resource when id is set.
func (s *Resources) Watch(req *pb.WatchRequest, srv grpc.ServerStreamingServer[pb.WatchResponse]) error {
	def, ns, err := s.lookup(srv.Context(), req.GetNamespace(), req.GetType())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(srv.Context())
	defer cancel()
	ch := make(chan runtime.Event, watchBuffer)
	var opts []runtime.WatchOption
	if req.GetBootstrap() {
		opts = append(opts, runtime.WithBootstrap())
	}
	if req.GetId() != "" {
		err = s.state.Watch(ctx, resource.Ref{Namespace: ns, Type: def.Type, ID: req.GetId()}, ch, opts...)
	} else {
		err = s.state.WatchKind(ctx, ns, def.Type, ch, opts...)
	}
	if err != nil {
		return toStatus(err)
	}
	pdef := Definition(def)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-ch:
			msg, err := watchResponse(ev, pdef)
			if err != nil {
				return err
			}
			if err := srv.Send(msg); err != nil {
				return err
			}
		}
	}
}

// watchResponse converts a watch event; an Errored event ends the watch.
func watchResponse(ev runtime.Event, def *pb.Definition) (*pb.WatchResponse, error) {
	out := &pb.WatchResponse{Definition: def}
	switch ev.Type {
	case runtime.Created:
		out.EventType = pb.EventType_CREATED
	case runtime.Updated:
		out.EventType = pb.EventType_UPDATED
	case runtime.Destroyed:
		out.EventType = pb.EventType_DESTROYED
	case runtime.Bootstrapped:
		out.EventType = pb.EventType_BOOTSTRAPPED
		return out, nil
	default:
		if errors.Is(ev.Error, runtime.ErrWatchOverflow) {
			return nil, status.Errorf(codes.ResourceExhausted, "watch ended: %v; watch again", ev.Error)
		}
		return nil, status.Errorf(codes.Internal, "watch ended: %v", ev.Error)
	}
	enc, err := Encode(ev.Resource)
	if err != nil {
		return nil, toStatus(err)
	}
	out.Resource = enc
	return out, nil
}

// Definition converts a resource definition to its API form.
func Definition(d resource.Definition) *pb.Definition {
	out := &pb.Definition{Type: d.Type, DefaultNamespace: d.DefaultNamespace, Aliases: d.Aliases}
	for _, c := range d.PrintColumns {
		out.PrintColumns = append(out.PrintColumns, &pb.Column{Name: c.Name, JsonPath: c.JSONPath})
	}
	return out
}

// Encode converts a resource to its API form: metadata, and the spec as
// the YAML that resource.MarshalYAML writes for it.
func Encode(r resource.Resource) (*pb.Resource, error) {
	md := r.Metadata()
	spec, err := specYAML(r)
	if err != nil {
		return nil, err
	}
	return &pb.Resource{
		Metadata: &pb.ResourceMetadata{
			Namespace: md.Namespace, Type: md.Type, Id: md.ID, Version: md.Version,
			Owner: md.Owner, Phase: md.Phase.String(),
			Created: timestamppb.New(md.Created), Updated: timestamppb.New(md.Updated),
			Labels: md.Labels, Finalizers: md.Finalizers,
		},
		Spec: spec,
	}, nil
}

// specYAML extracts the spec part of resource.MarshalYAML's output.
func specYAML(r resource.Resource) ([]byte, error) {
	full, err := resource.MarshalYAML(r)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(full, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("encode %s: %v", md(r), err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "spec" {
			continue
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(root.Content[i+1]); err != nil {
			return nil, fmt.Errorf("encode %s: %w", md(r), err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode %s: %w", md(r), err)
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("encode %s: no spec", md(r))
}

func md(r resource.Resource) string { return r.Metadata().Ref().String() }
