package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// daemon is a fake Docker daemon on a Unix socket that records requests
// and answers with handler.
type daemon struct {
	mu       sync.Mutex
	requests []string // "METHOD /path?query body"
}

func startDaemon(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) (*Client, *daemon) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		line := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		if len(body) > 0 && len(body) < 4096 {
			line += " " + string(body)
		}
		d.mu.Lock()
		d.requests = append(d.requests, line)
		d.mu.Unlock()
		handler(w, r, body)
	}))
	srv.Listener = lis
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	return c, d
}

func (d *daemon) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests[len(d.requests)-1]
}

func TestNewHosts(t *testing.T) {
	for host, ok := range map[string]bool{
		"unix:///var/run/docker.sock": true, "tcp://127.0.0.1:2375": true,
		"unix://": false, "ssh://me@host": false, "tcp://": false,
	} {
		if _, err := New(host); (err == nil) != ok {
			t.Errorf("New(%q) = %v", host, err)
		}
	}
	t.Setenv("DOCKER_HOST", "")
	c, err := FromEnv()
	if err != nil || c.Host() != DefaultHost {
		t.Errorf("FromEnv = %v, %v", c, err)
	}
}

func TestContainerCalls(t *testing.T) {
	c, d := startDaemon(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case r.URL.Path == "/v1.41/containers/create":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"Id":"abc123","Warnings":[]}`)
		case strings.HasSuffix(r.URL.Path, "/json") && strings.Contains(r.URL.Path, "/containers/missing"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"No such container: missing"}`)
		case r.URL.Path == "/v1.41/containers/abc123/json":
			io.WriteString(w, `{"Id":"abc123","Name":"/n1","State":{"Status":"running","Running":true},
				"NetworkSettings":{"Ports":{"50000/tcp":[{"HostIp":"127.0.0.1","HostPort":"32768"}]}}}`)
		case r.URL.Path == "/v1.41/containers/abc123/wait":
			io.WriteString(w, `{"StatusCode":3}`)
		case r.URL.Path == "/v1.41/containers/json":
			io.WriteString(w, `[]`)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := context.Background()
	id, err := c.ContainerCreate(ctx, "n1", ContainerSpec{Image: "plinth/node:test", HostConfig: HostConfig{CapAdd: []string{"ALL"}, MaskedPaths: []string{}}})
	if err != nil || id != "abc123" {
		t.Fatalf("ContainerCreate = %q, %v", id, err)
	}
	want := `POST /v1.41/containers/create?name=n1 {"Image":"plinth/node:test","HostConfig":{"CapAdd":["ALL"],"MaskedPaths":[],"ReadonlyPaths":null},"NetworkingConfig":{}}`
	if got := d.last(); got != want {
		t.Errorf("request:\n%s\nwant\n%s", got, want)
	}
	info, err := c.ContainerInspect(ctx, "abc123")
	if err != nil || !info.State.Running || info.NetworkSettings.Ports["50000/tcp"][0].HostPort != "32768" {
		t.Errorf("ContainerInspect = %+v, %v", info, err)
	}
	if _, err := c.ContainerInspect(ctx, "missing"); !IsNotFound(err) || !strings.Contains(err.Error(), "No such container: missing") {
		t.Errorf("ContainerInspect(missing) = %v, want a not-found error with the daemon's message", err)
	}
	if code, err := c.ContainerWait(ctx, "abc123"); err != nil || code != 3 {
		t.Errorf("ContainerWait = %d, %v", code, err)
	}
	if err := c.ContainerRemove(ctx, "abc123"); err != nil || d.last() != "DELETE /v1.41/containers/abc123?force=1&v=1" {
		t.Errorf("ContainerRemove: %v, request %s", err, d.last())
	}
	if _, err := c.ContainerList(ctx, "plinth.cluster=demo"); err != nil {
		t.Fatal(err)
	}
	if got := d.last(); got != `GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%7B%22plinth.cluster%3Ddemo%22%3Atrue%7D%7D` {
		t.Errorf("ContainerList request %s", got)
	}
}

func TestRemoveMissingIsNotAnError(t *testing.T) {
	c, _ := startDaemon(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"not found"}`)
	})
	ctx := context.Background()
	for name, err := range map[string]error{
		"container": c.ContainerRemove(ctx, "x"), "volume": c.VolumeRemove(ctx, "x"), "network": c.NetworkRemove(ctx, "x"),
		"image": c.ImageRemove(ctx, "x"),
	} {
		if err != nil {
			t.Errorf("removing a missing %s: %v", name, err)
		}
	}
}

func TestErrorsWithoutJSON(t *testing.T) {
	c, _ := startDaemon(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "network with name plinth-demo already exists\n")
	})
	_, err := c.NetworkCreate(context.Background(), NetworkSpec{Name: "plinth-demo"})
	if !IsConflict(err) || !strings.Contains(err.Error(), "create network plinth-demo: docker: network with name plinth-demo already exists (HTTP 409)") {
		t.Errorf("NetworkCreate = %v", err)
	}
}

func frame(stream byte, s string) []byte {
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
	return append(hdr, s...)
}

func TestLogsDemux(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(frame(1, "hello "))
	stream.Write(frame(2, "from stderr\n"))
	stream.Write(frame(1, "bye\n"))
	c, d := startDaemon(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.Contains(r.URL.Path, "tty") {
			w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
			io.WriteString(w, "raw text\n")
			return
		}
		w.Write(stream.Bytes())
	})
	got, err := c.ContainerLogs(context.Background(), "n1", 20)
	if err != nil || string(got) != "hello from stderr\nbye\n" {
		t.Errorf("ContainerLogs = %q, %v", got, err)
	}
	if !strings.HasSuffix(d.last(), "logs?stderr=1&stdout=1&tail=20") {
		t.Errorf("request %s", d.last())
	}
	if got, err := c.ContainerLogs(context.Background(), "tty", 0); err != nil || string(got) != "raw text\n" {
		t.Errorf("raw ContainerLogs = %q, %v", got, err)
	}
	// A truncated frame is an error, with what came before it.
	trunc := frame(1, "complete\n")
	trunc = append(trunc, frame(1, "cut short")[:12]...)
	got, err = demux(bytes.NewReader(trunc), "")
	if err == nil || !strings.HasPrefix(string(got), "complete\n") {
		t.Errorf("demux of a truncated stream = %q, %v", got, err)
	}
}

func TestImageLoad(t *testing.T) {
	c, d := startDaemon(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Content-Type") != "application/x-tar" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if string(body) == "broken" {
			io.WriteString(w, `{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}`+"\n")
			return
		}
		io.WriteString(w, `{"stream":"Loaded image: plinth/node:v1\n"}`+"\n"+`{"stream":"Loaded image: plinth/node:latest\n"}`+"\n")
	})
	lines, err := c.ImageLoad(context.Background(), strings.NewReader("tarball"))
	if err != nil || strings.Join(lines, ";") != "Loaded image: plinth/node:v1;Loaded image: plinth/node:latest" {
		t.Errorf("ImageLoad = %q, %v", lines, err)
	}
	if !strings.HasPrefix(d.last(), "POST /v1.41/images/load?quiet=1") {
		t.Errorf("request %s", d.last())
	}
	if _, err := c.ImageLoad(context.Background(), strings.NewReader("broken")); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("ImageLoad of a broken tarball = %v", err)
	}
}

func TestObjectCalls(t *testing.T) {
	c, d := startDaemon(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/v1.41/networks/create":
			io.WriteString(w, `{"Id":"n1"}`)
		case "/v1.41/volumes":
			io.WriteString(w, `{"Volumes":[{"Name":"demo-worker-1-var","Labels":{"plinth.cluster":"demo"}}]}`)
		case "/v1.41/info":
			io.WriteString(w, `{"ID":"X","ServerVersion":"20.10.24","CgroupVersion":"1"}`)
		case "/v1.41/_ping":
			io.WriteString(w, "OK")
		default:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "{}")
		}
	})
	ctx := context.Background()
	id, err := c.NetworkCreate(ctx, NetworkSpec{Name: "plinth-demo", IPAM: &IPAM{Config: []IPAMConfig{{Subnet: "10.5.0.0/24", Gateway: "10.5.0.1"}}}})
	if err != nil || id != "n1" {
		t.Fatalf("NetworkCreate = %q, %v", id, err)
	}
	var spec map[string]any
	body := strings.SplitN(d.last(), " ", 3)[2]
	if err := json.Unmarshal([]byte(body), &spec); err != nil || spec["IPAM"] == nil {
		t.Errorf("network request body %s", body)
	}
	if err := c.VolumeCreate(ctx, VolumeSpec{Name: "v", Labels: map[string]string{"plinth.cluster": "demo"}}); err != nil {
		t.Fatal(err)
	}
	vols, err := c.VolumeList(ctx, "plinth.cluster=demo")
	if err != nil || len(vols) != 1 || vols[0].Name != "demo-worker-1-var" {
		t.Errorf("VolumeList = %+v, %v", vols, err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.ServerVersion != "20.10.24" || info.CgroupVersion != "1" {
		t.Errorf("Info = %+v, %v", info, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

func TestPingWithoutDaemon(t *testing.T) {
	c, err := New("unix://" + filepath.Join(t.TempDir(), "none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "no Docker daemon answers on unix://") {
		t.Errorf("Ping = %v", err)
	}
}
