package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

// DialTimeout bounds the connection to an etcd endpoint.
const DialTimeout = 5 * time.Second

// member is one member of the cluster, as the controllers use it.
type member struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
	Learner    bool
}

// status is what one member says about itself.
type status struct {
	MemberID, Leader uint64
	Version          string
	Learner          bool
	Errors           []string
}

// Client is the part of etcd's API the controllers use.
type Client interface {
	// MemberList lists the cluster's members.
	MemberList(ctx context.Context) ([]member, error)
	// MemberAddAsLearner adds a learner with the peer URLs and returns its
	// id and the member list that includes it.
	MemberAddAsLearner(ctx context.Context, peerURLs []string) (uint64, []member, error)
	// MemberPromote makes a learner a voting member.
	MemberPromote(ctx context.Context, id uint64) error
	// Status asks the member at endpoint about itself.
	Status(ctx context.Context, endpoint string) (status, error)
	// Close releases the connection.
	Close() error
}

// Dialer connects to etcd at endpoints with a TLS client configuration.
type Dialer func(endpoints []string, tlsConfig *tls.Config) (Client, error)

// ClientTLS returns the TLS configuration of machined's etcd client: the
// Client certificate of spec, verifying servers against its CA.
func ClientTLS(spec *etcd.CertificatesSpec) (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(spec.Client.Crt), []byte(spec.Client.Key))
	if err != nil {
		return nil, fmt.Errorf("etcd client certificate: %w", err)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(spec.CA)) {
		return nil, errors.New("etcd CA: no certificate")
	}

	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Dial is the real Dialer: etcd's client over TLS. Connections are made
// lazily; calls fail while no endpoint answers.
func Dial(endpoints []string, tlsConfig *tls.Config) (Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		TLS:         tlsConfig,
		DialTimeout: DialTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client %v: %w", endpoints, err)
	}

	return v3Client{c}, nil
}

// v3Client adapts etcd's client.
type v3Client struct{ c *clientv3.Client }

func (v v3Client) MemberList(ctx context.Context) ([]member, error) {
	resp, err := v.c.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("etcd member list: %w", err)
	}

	return convertMembers(resp.Members), nil
}

func (v v3Client) MemberAddAsLearner(ctx context.Context, peerURLs []string) (uint64, []member, error) {
	resp, err := v.c.MemberAddAsLearner(ctx, peerURLs)
	if err != nil {
		return 0, nil, fmt.Errorf("etcd member add %v: %w", peerURLs, err)
	}

	return resp.Member.ID, convertMembers(resp.Members), nil
}

func (v v3Client) MemberPromote(ctx context.Context, id uint64) error {
	if _, err := v.c.MemberPromote(ctx, id); err != nil {
		return fmt.Errorf("etcd member promote %x: %w", id, err)
	}

	return nil
}

func (v v3Client) Status(ctx context.Context, endpoint string) (status, error) {
	resp, err := v.c.Status(ctx, endpoint)
	if err != nil {
		return status{}, fmt.Errorf("etcd status %s: %w", endpoint, err)
	}

	return status{
		MemberID: resp.Header.MemberId, Leader: resp.Leader, Version: resp.Version,
		Learner: resp.IsLearner, Errors: resp.Errors,
	}, nil
}

func (v v3Client) Close() error { return v.c.Close() }

func convertMembers[M interface {
	GetID() uint64
	GetName() string
	GetPeerURLs() []string
	GetClientURLs() []string
	GetIsLearner() bool
}](in []M) []member {
	out := make([]member, 0, len(in))
	for _, m := range in {
		out = append(out, member{
			ID: m.GetID(), Name: m.GetName(), PeerURLs: m.GetPeerURLs(),
			ClientURLs: m.GetClientURLs(), Learner: m.GetIsLearner(),
		})
	}

	return out
}

// hexID is the usual text form of a member id.
func hexID(id uint64) string { return strconv.FormatUint(id, 16) }
