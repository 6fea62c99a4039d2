package qemu

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// configServer serves each node its machine config at
// /configs/<node>.yaml and every node the boot bundle at BundlePath. A
// config holds the cluster's secrets, so it goes only to the node's own
// address (the one its DHCP lease gives it); the file is read at every
// request, so a config edited in the state directory is what the node
// gets at its next boot. The bundle goes to any node of the cluster and
// to nobody else; it is streamed from the image directory, ranges
// included.
type configServer struct {
	nodes map[string]NodeSpec
	// byIP names the node of each address.
	byIP map[netip.Addr]string
	// bundle is the boot bundle's file ("" when nodes are not installed).
	bundle string
	log    *slog.Logger
	// onServe is told of every config served; onBundle of every bundle
	// download started (GET).
	onServe, onBundle func(node string)
}

func newConfigServer(s *Spec, log *slog.Logger, onServe, onBundle func(node string)) *configServer {
	c := &configServer{nodes: map[string]NodeSpec{}, byIP: map[netip.Addr]string{}, bundle: s.Bundle, log: log,
		onServe: onServe, onBundle: onBundle}
	for _, n := range s.Nodes {
		c.nodes[n.Name] = n
		c.byIP[n.IP] = n.Name
	}
	return c
}

// ServeHTTP answers GET and HEAD of /configs/<node>.yaml and BundlePath.
func (c *configServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == BundlePath {
		c.serveBundle(w, r)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/configs/")
	name, yaml := strings.CutSuffix(name, ".yaml")
	n, known := c.nodes[name]
	if !ok || !yaml || !known {
		http.NotFound(w, r)
		return
	}
	from, err := remoteAddr(r)
	if err != nil || from != n.IP {
		c.log.Warn("config refused", "node", name, "from", r.RemoteAddr)
		http.Error(w, "the config of "+name+" is served to "+n.IP.String()+" only", http.StatusForbidden)
		return
	}
	data, err := os.ReadFile(n.Config)
	if err != nil {
		c.log.Error("config unreadable", "node", name, "error", err)
		http.Error(w, "config of "+name+" unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
	c.log.Info("config served", "node", name, "from", from, "bytes", len(data))
	if c.onServe != nil && r.Method == http.MethodGet {
		c.onServe(name)
	}
}

// serveBundle streams the boot bundle to a node of the cluster.
func (c *configServer) serveBundle(w http.ResponseWriter, r *http.Request) {
	if c.bundle == "" {
		http.Error(w, "this cluster's nodes are not installed: no boot bundle", http.StatusNotFound)
		return
	}
	from, err := remoteAddr(r)
	node, known := c.byIP[from]
	if err != nil || !known {
		c.log.Warn("boot bundle refused", "from", r.RemoteAddr)
		http.Error(w, "the boot bundle is served to the cluster's nodes only", http.StatusForbidden)
		return
	}
	f, err := os.Open(c.bundle)
	if err != nil {
		c.log.Error("boot bundle unreadable", "error", err)
		http.Error(w, "boot bundle unreadable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "boot bundle unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	c.log.Info("boot bundle requested", "node", node, "from", from, "method", r.Method, "range", r.Header.Get("Range"), "bytes", fi.Size())
	if c.onBundle != nil && r.Method == http.MethodGet {
		c.onBundle(node)
	}
	// ServeContent sets Content-Length, answers HEAD and ranges, and
	// streams the file.
	http.ServeContent(w, r, BundleFile, fi.ModTime(), f)
}

// remoteAddr is the request's source address, IPv4-mapped forms unmapped.
func remoteAddr(r *http.Request) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err
}
