package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// Limits of the remote connections a Pool keeps.
const (
	// maxRemotes bounds the connections kept to other nodes; past it, idle
	// ones are closed to make room.
	maxRemotes = 256
	// remoteIdleTimeout is how long an unused connection keeps its
	// transport open.
	remoteIdleTimeout = 5 * time.Minute
)

// Pool implements Backends with real gRPC connections: an insecure one to
// machined's Unix socket, and one over mutual TLS to each other node's
// apid, made on first use and kept. Connections are lazy: a node that is
// down costs nothing until it is called.
type Pool struct {
	local  *grpc.ClientConn
	tlsFor func(serverName string) *tls.Config

	// isLocal reports whether an address is this node's (calls to it go
	// straight to machined instead of through this node's own apid).
	isLocal func(netip.Addr) bool

	mu      sync.Mutex
	remotes map[string]*grpc.ClientConn
	closed  bool
}

var _ Backends = (*Pool)(nil)

// NewPool returns a Pool that sends local calls to machined's socket (an
// absolute path) and remote calls over TLS configured by tlsFor, which is
// given the name the remote must prove (its host as the caller wrote it).
func NewPool(machinedSocket string, tlsFor func(serverName string) *tls.Config) (*Pool, error) {
	local, err := grpc.NewClient("unix://"+machinedSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("machined connection %s: %w", machinedSocket, err)
	}
	return &Pool{local: local, tlsFor: tlsFor, isLocal: hostAddress, remotes: map[string]*grpc.ClientConn{}}, nil
}

// Local returns the connection to machined.
func (p *Pool) Local() grpc.ClientConnInterface { return p.local }

// Remote returns the connection to the apid at target: "host" (port
// constants.ApidPort) or "host:port", the host an IP address or a DNS name.
//
// A target that is this node's own API address is served by machined
// directly: the call would otherwise cross TLS twice inside the node (a
// bundle upgrade streamed with -n set to the endpoint costs twice the
// CPU).
func (p *Pool) Remote(target string) (grpc.ClientConnInterface, error) {
	addr, host, err := NodeAddress(target)
	if err != nil {
		return nil, err
	}
	if ip, perr := netip.ParseAddr(host); perr == nil && p.isLocal != nil && p.isLocal(ip.Unmap()) &&
		strings.HasSuffix(addr, ":"+strconv.Itoa(constants.ApidPort)) {
		return p.local, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("connection pool closed")
	}
	if cc, ok := p.remotes[addr]; ok {
		return cc, nil
	}
	if len(p.remotes) >= maxRemotes {
		p.evictIdle()
		if len(p.remotes) >= maxRemotes {
			return nil, fmt.Errorf("more than %d nodes in use at once", maxRemotes)
		}
	}
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(credentials.NewTLS(p.tlsFor(host))),
		grpc.WithIdleTimeout(remoteIdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("connection to %s: %w", addr, err)
	}
	p.remotes[addr] = cc
	return cc, nil
}

// evictIdle closes and forgets the idle remote connections. A call that
// took one from the pool just before fails as cancelled; that only happens
// past maxRemotes nodes.
func (p *Pool) evictIdle() {
	for addr, cc := range p.remotes {
		if cc.GetState() == connectivity.Idle {
			cc.Close() //nolint:errcheck // only fails when already closed
			delete(p.remotes, addr)
		}
	}
}

// Close closes every connection. Calls in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	errs := []error{p.local.Close()}
	for addr, cc := range p.remotes {
		errs = append(errs, cc.Close())
		delete(p.remotes, addr)
	}
	return errors.Join(errs...)
}

// hostAddress reports whether ip is an address of one of this host's
// interfaces.
func hostAddress(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// NodeAddress returns the dial address of a node named target, adding
// constants.ApidPort when target has no port, and the host to verify its
// certificate against.
func NodeAddress(target string) (addr, host string, err error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		// No port: a bare host, or an IPv6 address with or without brackets.
		host, port = strings.TrimSuffix(strings.TrimPrefix(target, "["), "]"), strconv.Itoa(constants.ApidPort)
	}
	if host == "" || strings.ContainsAny(host, "/[]@ \t\r\n") {
		return "", "", fmt.Errorf("invalid node address %q", target)
	}
	if n, perr := strconv.Atoi(port); perr != nil || n <= 0 || n > 65535 {
		return "", "", fmt.Errorf("invalid port in node address %q", target)
	}
	return net.JoinHostPort(host, port), host, nil
}
