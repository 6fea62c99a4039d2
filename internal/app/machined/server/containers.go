package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/identifiers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

// KubernetesOptions give the etcd, image, container and Kubernetes log
// RPCs what they act on; every field is optional.
type KubernetesOptions struct {
	// Etcd connects to the node's etcd member.
	Etcd EtcdDialer
	// Containerd connects to the node's containerd.
	Containerd ContainerdDialer
	// PodLogDir is where kubelet keeps container logs (/var/log/pods).
	PodLogDir string
}

// DefaultNamespace is the containerd namespace of Kubernetes (CRI), the
// default of the image and container RPCs.
const DefaultNamespace = "k8s.io"

// ContainerRuntime is the node's container runtime as the API uses it.
type ContainerRuntime interface {
	// Images lists the images of namespace.
	Images(ctx context.Context, namespace string) ([]*machine.ImageInfo, error)
	// Import imports an image archive (OCI or docker) into namespace and
	// unpacks it; it returns the images imported.
	Import(ctx context.Context, namespace string, r io.Reader) ([]*machine.ImageInfo, error)
	// Containers lists the containers of namespace; with cri, as
	// Kubernetes pods and containers.
	Containers(ctx context.Context, namespace string, cri bool) ([]*machine.ContainerInfo, error)
	// Close releases the connection.
	Close() error
}

// ContainerdDialer connects to the node's containerd. machined passes one
// built by LocalContainerd.
type ContainerdDialer func(ctx context.Context) (ContainerRuntime, error)

// errContainerdNotRunning answers image and container RPCs on nodes whose
// containerd does not run.
var errContainerdNotRunning = status.Error(codes.FailedPrecondition, "containerd is not running on this node")

// LocalContainerd returns a dialer of the containerd serving socket.
func LocalContainerd(socket string) ContainerdDialer {
	return func(ctx context.Context) (ContainerRuntime, error) {
		if _, err := os.Stat(socket); err != nil {
			return nil, errContainerdNotRunning
		}
		c, err := containerd.New(socket, containerd.WithTimeout(5*time.Second))
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "connect to containerd at %s: %v", socket, err)
		}
		return &containerdRuntime{c: c}, nil
	}
}

// runtime connects to containerd.
func (m *Machine) runtime(ctx context.Context) (ContainerRuntime, error) {
	if m.opts.Kubernetes.Containerd == nil {
		return nil, errContainerdNotRunning
	}
	return m.opts.Kubernetes.Containerd(ctx)
}

// namespaceOf is the namespace of a request, DefaultNamespace when empty.
func namespaceOf(ns string) (string, error) {
	if ns == "" {
		return DefaultNamespace, nil
	}
	if err := identifiers.Validate(ns); err != nil {
		return "", invalidArgument("namespace %q: %v", ns, err)
	}
	return ns, nil
}

// runtimeError turns an error of containerd's client into a status.
func runtimeError(what string, err error) error {
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return err
	}
	code := codes.Internal
	switch {
	case errdefs.IsNotFound(err):
		code = codes.NotFound
	case errdefs.IsInvalidArgument(err):
		code = codes.InvalidArgument
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Errorf(code, "%s: %v", what, err)
}

// Containers lists the containers of a containerd namespace (CONTAINERD)
// or Kubernetes' pods and containers (CRI).
func (m *Machine) Containers(ctx context.Context, req *machine.ContainersRequest) (*machine.ContainersResponse, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if _, ok := common.ContainerDriver_name[int32(req.GetDriver())]; !ok {
		return nil, invalidArgument("unknown container driver %d", req.GetDriver())
	}
	rt, err := m.runtime(ctx)
	if err != nil {
		return nil, err
	}
	defer rt.Close() //nolint:errcheck // nothing to do about it
	list, err := rt.Containers(ctx, ns, req.GetDriver() == common.ContainerDriver_CRI)
	if err != nil {
		return nil, runtimeError("list containers", err)
	}
	return &machine.ContainersResponse{Messages: []*machine.Containers{{Containers: list}}}, nil
}

// containerdRuntime is ContainerRuntime over containerd's client.
type containerdRuntime struct {
	c *containerd.Client
}

func (r *containerdRuntime) Close() error { return r.c.Close() }

// Labels and extensions CRI puts on the containers it makes.
const (
	labelKind          = "io.cri-containerd.kind"
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
	kindSandbox        = "sandbox"
	criMetadataKey     = "io.cri-containerd.container.metadata"
)

// criMetadata is the part of CRI's container metadata extension read here.
type criMetadata struct {
	Metadata struct {
		LogPath string
		Config  struct {
			Metadata struct {
				Attempt uint32 `json:"attempt"`
			} `json:"metadata"`
		}
	}
}

// Containers lists the containers of ns with their task's state.
func (r *containerdRuntime) Containers(ctx context.Context, ns string, cri bool) ([]*machine.ContainerInfo, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	list, err := r.c.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var out []*machine.ContainerInfo
	for _, c := range list {
		info, err := c.Info(ctx)
		if errdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.ID(), err)
		}
		ci := &machine.ContainerInfo{Namespace: ns, Id: info.ID, InternalId: info.ID, Image: info.Image, Status: "CREATED"}
		if task, err := c.Task(ctx, nil); err == nil {
			ci.Pid = task.Pid()
			if st, err := task.Status(ctx); err == nil {
				ci.Status = strings.ToUpper(string(st.Status))
			}
		}
		if cri {
			if !criContainer(ci, info.Labels) {
				continue
			}
			if ext, ok := info.Extensions[criMetadataKey]; ok && ext != nil {
				var md criMetadata
				if json.Unmarshal(ext.GetValue(), &md) == nil {
					ci.RestartCount = md.Metadata.Config.Metadata.Attempt
				}
			}
		}
		out = append(out, ci)
	}
	slices.SortFunc(out, func(a, b *machine.ContainerInfo) int {
		return strings.Compare(a.PodId+"/"+a.Name+"/"+a.Id, b.PodId+"/"+b.Name+"/"+b.Id)
	})
	return out, nil
}

// criContainer fills ci's Kubernetes fields from CRI's labels; it reports
// false for containers CRI did not make.
func criContainer(ci *machine.ContainerInfo, labels map[string]string) bool {
	pod, podNS := labels[labelPodName], labels[labelPodNamespace]
	if pod == "" || podNS == "" {
		return false
	}
	ci.PodId = podNS + "/" + pod
	ci.Uid = labels[labelPodUID]
	ci.Sandbox = labels[labelKind] == kindSandbox
	if ci.Sandbox {
		ci.Id = ci.PodId
		return true
	}
	ci.Name = labels[labelContainerName]
	ci.Id = ci.PodId + "/" + ci.Name
	return true
}

// podLogPollInterval is how often a followed container log is checked
// for new lines.
var podLogPollInterval = 250 * time.Millisecond

// kubernetesLogs streams a Kubernetes container's log from kubelet's log
// directory: id is [NAMESPACE/]POD/CONTAINER. CRI's line prefix (time,
// stream, tag) is removed.
func (m *Machine) kubernetesLogs(req *machine.LogsRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	dir, err := m.podLogDir(req.GetId())
	if err != nil {
		return err
	}
	send := func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) }
	f := &podLogFollower{dir: dir}
	defer f.close()
	data, err := f.readAll()
	if err != nil {
		return status.Errorf(codes.Internal, "read the log of %s: %v", req.GetId(), err)
	}
	out := tailLines(decodeCRILog(data, &f.partial), int(req.GetTailLines()))
	if err := streamReaderBytes(out, send); err != nil || !req.GetFollow() {
		return err
	}
	ctx := srv.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(podLogPollInterval):
		}
		more, err := f.readMore()
		if err != nil {
			return status.Errorf(codes.Internal, "follow the log of %s: %v", req.GetId(), err)
		}
		if b := decodeCRILog(more, &f.partial); len(b) > 0 {
			if err := streamReaderBytes(b, send); err != nil {
				return err
			}
		}
	}
}

// podNameRE matches namespaces, pod names and container names, which
// keeps glob characters out of the patterns below.
var podNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// podLogDir finds the directory of a container's logs: POD_LOG_DIR/
// NAMESPACE_POD_UID/CONTAINER, the most recent when a pod of that name
// was created several times.
func (m *Machine) podLogDir(id string) (string, error) {
	parts := strings.Split(id, "/")
	ns, pod, ctr := "*", "", ""
	switch len(parts) {
	case 2:
		pod, ctr = parts[0], parts[1]
	case 3:
		ns, pod, ctr = parts[0], parts[1], parts[2]
		if !podNameRE.MatchString(ns) {
			return "", invalidArgument("namespace %q is not a Kubernetes name", ns)
		}
	default:
		return "", invalidArgument("container %q: expected [NAMESPACE/]POD/CONTAINER (see plinthctl containers -k)", id)
	}
	if !podNameRE.MatchString(pod) || !podNameRE.MatchString(ctr) {
		return "", invalidArgument("container %q: pod and container must be Kubernetes names", id)
	}
	base := m.opts.Kubernetes.PodLogDir
	if base == "" {
		return "", status.Error(codes.FailedPrecondition, "container logs are not available: Kubernetes is not configured on this node")
	}
	matches, err := filepath.Glob(filepath.Join(base, ns+"_"+pod+"_*", ctr))
	if err != nil {
		return "", status.Error(codes.Internal, err.Error())
	}
	if len(matches) == 0 {
		return "", status.Errorf(codes.NotFound, "no logs of container %s on this node (list them with plinthctl containers -k)", id)
	}
	namespaces := map[string]bool{}
	for _, d := range matches {
		namespaces[strings.SplitN(filepath.Base(filepath.Dir(d)), "_", 2)[0]] = true
	}
	if len(namespaces) > 1 {
		return "", status.Errorf(codes.InvalidArgument, "pod %s exists in several namespaces (%s): name one, NAMESPACE/%s/%s",
			pod, strings.Join(slices.Sorted(maps.Keys(namespaces)), ", "), pod, ctr)
	}
	slices.SortFunc(matches, func(a, b string) int { return modTime(b).Compare(modTime(a)) })
	return matches[0], nil
}

func modTime(p string) time.Time {
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// podLogFollower reads a container's newest log file (N.log, N the
// restart count), moving on when a newer one appears or the file is
// rotated.
type podLogFollower struct {
	dir     string
	f       *os.File
	name    string
	partial bool // the last line read was a partial (P) line
}

var logFileRE = regexp.MustCompile(`^(\d+)\.log$`)

// newest returns the path of the highest-numbered N.log in dir.
func (p *podLogFollower) newest() (string, error) {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return "", err
	}
	best, bestN := "", -1
	for _, e := range entries {
		if sm := logFileRE.FindStringSubmatch(e.Name()); sm != nil {
			if n, _ := strconv.Atoi(sm[1]); n > bestN {
				best, bestN = e.Name(), n
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("%s holds no log file yet", p.dir)
	}
	return filepath.Join(p.dir, best), nil
}

// readAll opens the newest file and reads it.
func (p *podLogFollower) readAll() ([]byte, error) {
	name, err := p.newest()
	if err != nil {
		return nil, err
	}
	if p.f, err = os.Open(name); err != nil {
		return nil, err
	}
	p.name = name
	return io.ReadAll(p.f)
}

// readMore returns what was written since the last read, switching to a
// newer or rotated file once the current one is read to its end.
func (p *podLogFollower) readMore() ([]byte, error) {
	b, err := io.ReadAll(p.f)
	if err != nil || len(b) > 0 {
		return b, err
	}
	name, err := p.newest()
	if err != nil {
		return nil, nil // the directory went away with the pod: wait
	}
	cur, _ := p.f.Stat()
	now, serr := os.Stat(name)
	if name == p.name && (serr != nil || os.SameFile(cur, now)) {
		return nil, nil
	}
	p.close()
	return p.readAll()
}

func (p *podLogFollower) close() {
	if p.f != nil {
		_ = p.f.Close()
		p.f = nil
	}
}

// decodeCRILog strips CRI's prefix ("TIME STREAM TAG ") from each line;
// a partial (P) line is continued by the next one. partial carries that
// state from one call to the next.
func decodeCRILog(data []byte, partial *bool) []byte {
	var out bytes.Buffer
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		data = rest
		if !found && len(line) == 0 {
			break
		}
		fields := bytes.SplitN(line, []byte(" "), 4)
		if len(fields) < 3 {
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		msg := []byte{}
		if len(fields) == 4 {
			msg = fields[3]
		}
		out.Write(msg)
		*partial = string(fields[2]) == "P"
		if !*partial {
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// tailLines returns the last n lines of b (all when n is negative).
func tailLines(b []byte, n int) []byte {
	if n < 0 {
		return b
	}
	if n == 0 {
		return nil
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}
