package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

// runState is what ServiceController remembers during one Run: how the
// member started, and its clients.
type runState struct {
	dial Dialer
	// initial is how the member starts, decided once per run (nil: not yet).
	initial *initialCluster
	// certHash is the certificates the clients were made with.
	certHash string
	tls      *tls.Config
	// local talks to the local member; remote to the others (a learner
	// serves neither member lists nor promotions).
	local, remote   Client
	remoteEndpoints []string
	// selfPeerURL is the local member's peer URL, to tell it apart.
	selfPeerURL string
	// clusterEndpoint is where the cluster is found when no other member
	// is known (the controlPlane.endpoint host's client URL).
	clusterEndpoint string
}

// useCerts makes the clients use spec's client certificate from now on.
func (st *runState) useCerts(spec *etcd.CertificatesSpec) error {
	if spec.Hash == st.certHash && st.tls != nil {
		return nil
	}

	cfg, err := ClientTLS(spec)
	if err != nil {
		return err
	}

	st.closeClients()
	st.tls, st.certHash = cfg, spec.Hash

	return nil
}

// reset forgets everything: the node is no control plane any more.
func (st *runState) reset() {
	st.close()
	*st = runState{dial: st.dial}
}

func (st *runState) close() { st.closeClients() }

func (st *runState) closeClients() {
	for _, c := range []Client{st.local, st.remote} {
		if c != nil {
			_ = c.Close() //nolint:errcheck // nothing to do about it
		}
	}

	st.local, st.remote, st.remoteEndpoints = nil, nil, nil
}

// remoteClient returns a client of endpoints, reusing the current one when
// it has the same endpoints.
func (st *runState) remoteClient(endpoints []string) (Client, error) {
	if st.remote != nil && slices.Equal(st.remoteEndpoints, endpoints) {
		return st.remote, nil
	}

	if st.remote != nil {
		_ = st.remote.Close() //nolint:errcheck // replaced
		st.remote = nil
	}

	c, err := st.dial(endpoints, st.tls)
	if err != nil {
		return nil, err
	}

	st.remote, st.remoteEndpoints = c, slices.Clone(endpoints)

	return c, nil
}

// join finds the cluster at endpoint and adds the local member as a
// learner, unless an earlier attempt added it already (it is then listed
// with its peer URL and no name). It returns how the member starts; on
// failure, msg is non-empty when the cluster answered.
func (st *runState) join(ctx context.Context, endpoint, name, peerURL string) (initialCluster, string, error) {
	c, err := st.remoteClient([]string{endpoint})
	if err != nil {
		return initialCluster{}, "", err
	}

	members, err := c.MemberList(ctx)
	if err != nil {
		return initialCluster{}, "", err
	}

	for _, m := range members {
		if !slices.Contains(m.PeerURLs, peerURL) {
			continue
		}

		if m.Name != "" {
			return initialCluster{}, "joining the cluster", fmt.Errorf(
				"member %s (%s) already has this node's peer URL %s but this node has no etcd data: "+
					"remove that member first", hexID(m.ID), m.Name, peerURL)
		}

		return initialCluster{members: memberList(members, name, peerURL), state: stateExisting}, "", nil
	}

	_, members, err = c.MemberAddAsLearner(ctx, []string{peerURL})
	if err != nil {
		return initialCluster{}, "adding this node as an etcd learner", err
	}

	return initialCluster{members: memberList(members, name, peerURL), state: stateExisting}, "", nil
}

// localStatus asks the local member about itself.
func (st *runState) localStatus(ctx context.Context) (status, error) {
	if st.local == nil {
		c, err := st.dial([]string{LocalClientURL}, st.tls)
		if err != nil {
			return status{}, err
		}

		st.local = c
	}

	return st.local.Status(ctx, LocalClientURL)
}

// members lists the cluster's members: from the local member when it is a
// voting member, else from the others. It remembers the others' client
// URLs for promotion.
func (st *runState) members(ctx context.Context, learner bool) ([]member, error) {
	c := st.local

	if learner {
		endpoints := st.remoteEndpoints
		if len(endpoints) == 0 && st.clusterEndpoint != "" {
			endpoints = []string{st.clusterEndpoint}
		}

		if len(endpoints) == 0 {
			return nil, errors.New("no other member known to ask")
		}

		var err error
		if c, err = st.remoteClient(endpoints); err != nil {
			return nil, err
		}
	}

	members, err := c.MemberList(ctx)
	if err != nil {
		return nil, err
	}

	var others []string

	for _, m := range members {
		if st.selfPeerURL != "" && slices.Contains(m.PeerURLs, st.selfPeerURL) {
			continue
		}

		if learner && m.Learner {
			continue
		}

		others = append(others, m.ClientURLs...)
	}

	if len(others) > 0 && !slices.Equal(others, st.remoteEndpoints) && learner {
		if _, err := st.remoteClient(others); err != nil {
			return members, err
		}
	}

	return members, nil
}

// promote makes the local learner a voting member through the others; it
// fails while the learner has not caught up.
func (st *runState) promote(ctx context.Context, id uint64) error {
	if st.remote == nil {
		return errors.New("no other member known to ask")
	}

	return st.remote.MemberPromote(ctx, id)
}

// joinHostPort joins a host (an IPv6 address is bracketed) and a port.
func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
