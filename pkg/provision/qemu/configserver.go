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
// /configs/<node>.yaml. A config holds the cluster's secrets, so it goes
// only to the node's own address (the one its DHCP lease gives it); the
// file is read at every request, so a config edited in the state
// directory is what the node gets at its next boot.
type configServer struct {
	nodes map[string]NodeSpec
	log   *slog.Logger
	// onServe is told of every config served.
	onServe func(node string)
}

func newConfigServer(s *Spec, log *slog.Logger, onServe func(node string)) *configServer {
	c := &configServer{nodes: map[string]NodeSpec{}, log: log, onServe: onServe}
	for _, n := range s.Nodes {
		c.nodes[n.Name] = n
	}
	return c
}

// ServeHTTP answers GET and HEAD of /configs/<node>.yaml.
func (c *configServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
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

// remoteAddr is the request's source address, IPv4-mapped forms unmapped.
func remoteAddr(r *http.Request) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err
}
