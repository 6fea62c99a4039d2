// Package client is the Go client of the Plinth node API: apid's
// machine.MachineService and resource.ResourceService over mutual TLS.
//
// A Client holds one gRPC connection to the first endpoint that answers
// (endpoints are tried in order; when the connection drops, the next RPC
// tries them again). Calls reach other nodes through apid: put the target
// nodes in the call's context with [WithNodes] (fan-out: one item per node,
// each tagged with metadata.node, or metadata.error when that node failed)
// or [WithNode] (one node), and split the answer with [Items].
//
//	c, nodes, err := client.FromFlags(ctx, "", "", nil, nil)
//	if err != nil { ... }
//	defer c.Close()
//	resp, err := c.Machine.Version(client.WithNodes(ctx, nodes...), &emptypb.Empty{})
//	versions, failed := client.Items(resp.GetMessages())
package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
)

// Client is a connection to the node API.
//
// Lifecycle: New builds it without connecting; the first RPC connects to
// the first endpoint that answers; Close releases the connection. A Client
// is safe for concurrent use.
type Client struct {
	// Machine is the MachineService: versions, config, services, logs,
	// files, power.
	Machine machine.MachineServiceClient
	// Resources is the read-only ResourceService.
	Resources resource.ResourceServiceClient

	conn      *grpc.ClientConn
	endpoints []string
}

// New returns a client for the endpoints of the WithContext context, or
// those of WithEndpoints. It needs either WithContext (mutual TLS with the
// context's CA and client certificate) or WithMaintenance (TLS without a
// client certificate). New does not wait for a connection: the first RPC
// connects, and its error says when no endpoint answers; ctx is only
// checked for cancellation.
func New(ctx context.Context, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	endpoints := o.endpoints
	if endpoints == nil && o.context != nil {
		endpoints = o.context.Endpoints
	}
	addrs, err := normalizeEndpoints(endpoints)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	r := manual.NewBuilderWithScheme("plinth")
	r.InitialState(resolverState(addrs))
	dialOpts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithResolvers(r),
		grpc.WithConnectParams(defaultConnectParams),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
	}, o.dialOptions...)
	conn, err := grpc.NewClient("plinth:///"+strings.Join(addrs, ","), dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("new client for %s: %w", strings.Join(addrs, ", "), err)
	}
	return &Client{
		Machine:   machine.NewMachineServiceClient(conn),
		Resources: resource.NewResourceServiceClient(conn),
		conn:      conn,
		endpoints: addrs,
	}, nil
}

// resolverState lists each endpoint address with its host as the TLS
// server name, so each node's certificate is checked against its own name.
func resolverState(addrs []string) resolver.State {
	var s resolver.State
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, resolver.Endpoint{
			Addresses: []resolver.Address{{Addr: a, ServerName: hostOf(a)}},
		})
	}
	return s
}

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("close client: %w", err)
	}
	return nil
}

// Endpoints returns the endpoints the client connects to, as host:port.
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// ResetConnectBackoff makes the next RPC try to connect at once instead of
// waiting out the reconnection backoff. Callers polling a rebooting node
// call it before each attempt.
func (c *Client) ResetConnectBackoff() { c.conn.ResetConnectBackoff() }

// NodeName names the node an item came from: md's node, or for an item
// that was not proxied the single endpoint, or "local" when there are
// several endpoints.
func (c *Client) NodeName(md *common.Metadata) string {
	if n := md.GetNode(); n != "" {
		return n
	}
	if len(c.endpoints) == 1 {
		return hostOf(c.endpoints[0])
	}
	return LocalNode
}

// errNoEndpoints is returned when neither the context nor the options name
// an endpoint.
var errNoEndpoints = errors.New("no endpoints: give them with -e or set them with `plinthctl config endpoint`")
