package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/platforms"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

// importRefPrefix names images of OCI archives that carry only a tag
// ("import:latest").
const importRefPrefix = "import"

// ImageList lists the images of a containerd namespace (default k8s.io).
func (m *Machine) ImageList(ctx context.Context, req *machine.ImageListRequest) (*machine.ImageListResponse, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	rt, err := m.runtime(ctx)
	if err != nil {
		return nil, err
	}
	defer rt.Close() //nolint:errcheck // nothing to do about it
	list, err := rt.Images(ctx, ns)
	if err != nil {
		return nil, runtimeError("list images", err)
	}
	return &machine.ImageListResponse{Messages: []*machine.ImageList{{Images: list}}}, nil
}

// ImageImport reads a header naming the namespace, then the chunks of an
// image archive, and imports the archive into containerd.
func (m *Machine) ImageImport(srv grpc.ClientStreamingServer[machine.ImageImportRequest, machine.ImageImportResponse]) error {
	ctx := srv.Context()
	first, err := srv.Recv()
	if errors.Is(err, io.EOF) {
		return invalidArgument("no header: the first message names the namespace")
	}
	if err != nil {
		return err
	}
	header := first.GetHeader()
	if header == nil {
		return invalidArgument("the first message must be the header naming the namespace, then the archive's chunks")
	}
	ns, err := namespaceOf(header.GetNamespace())
	if err != nil {
		return err
	}
	rt, err := m.runtime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close() //nolint:errcheck // nothing to do about it
	r := &chunkReader[*machine.ImageImportRequest]{recv: srv.Recv}
	imported, err := rt.Import(ctx, ns, r)
	if r.err != nil {
		return r.err
	}
	if err != nil {
		return runtimeError("import image archive", err)
	}
	if len(imported) == 0 {
		return status.Error(codes.InvalidArgument, "the archive names no image: tag the image when you save it")
	}
	for _, img := range imported {
		m.logger.Info("image imported", "namespace", ns, "image", img.GetName(), "digest", img.GetDigest())
	}
	return srv.SendAndClose(&machine.ImageImportResponse{Messages: []*machine.ImageImport{{Images: imported}}})
}

// chunkMessage is a message of a client stream that carries a header
// first, then chunks of data (ImageImport, Upgrade).
type chunkMessage interface {
	GetChunk() *common.Data
}

// chunkReader reads the bytes of the chunks of a client stream after its
// header. A message other than a chunk is an error, kept in err.
type chunkReader[T chunkMessage] struct {
	recv func() (T, error)
	buf  []byte
	err  error
}

func (r *chunkReader[T]) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		msg, err := r.recv()
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		if msg.GetChunk() == nil {
			r.err = invalidArgument("a second header after the first: send the data's chunks only")
			return 0, r.err
		}
		r.buf = msg.GetChunk().GetBytes()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Images lists the images of ns, by name.
func (r *containerdRuntime) Images(ctx context.Context, ns string) ([]*machine.ImageInfo, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	list, err := r.c.ListImages(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*machine.ImageInfo, 0, len(list))
	for _, img := range list {
		out = append(out, r.info(ctx, img))
	}
	slices.SortFunc(out, func(a, b *machine.ImageInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// info describes an image; its size is 0 when content is missing.
func (r *containerdRuntime) info(ctx context.Context, img containerd.Image) *machine.ImageInfo {
	md := img.Metadata()
	size, _ := img.Size(ctx)
	return &machine.ImageInfo{
		Name: img.Name(), Digest: md.Target.Digest.String(), Size: size, CreatedAt: timestamppb.New(md.CreatedAt),
	}
}

// Import imports an archive into ns and unpacks its images for the
// default snapshotter, so that pods start from them at once.
func (r *containerdRuntime) Import(ctx context.Context, ns string, rd io.Reader) ([]*machine.ImageInfo, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	ctx, done, err := r.c.WithLease(ctx)
	if err != nil {
		return nil, err
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires anyway
	imgs, err := r.c.Import(ctx, rd, containerd.WithImageRefTranslator(archive.AddRefPrefix(importRefPrefix)))
	if err != nil {
		return nil, err
	}
	out := make([]*machine.ImageInfo, 0, len(imgs))
	for _, meta := range imgs {
		img := containerd.NewImageWithPlatform(r.c, meta, platforms.DefaultStrict())
		if err := img.Unpack(ctx, ""); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", meta.Name, err)
		}
		out = append(out, r.info(ctx, img))
	}
	return out, nil
}
