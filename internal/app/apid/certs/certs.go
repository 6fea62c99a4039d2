// Package certs serves the node's API certificates (ca.crt, server.crt,
// server.key in one directory) to TLS servers and clients, reloading them
// when machined renews the files. apid and trustd both use it.
//
// Every handshake asks the Store for the current files; the Store stats
// them and rereads only when one changed. A change that does not parse (for
// instance a certificate written before its key) keeps the last good
// certificates in use and is retried at the next handshake.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Names of the files in the certificate directory.
const (
	// CAFile is the PEM CA certificate that client and peer certificates
	// are verified against.
	CAFile = "ca.crt"
	// CertFile is the node's PEM certificate (server and client usage).
	CertFile = "server.crt"
	// KeyFile is the node's PEM private key.
	KeyFile = "server.key"
)

// Store holds the latest good certificates of a directory. It is safe for
// concurrent use.
type Store struct {
	dir string
	log *slog.Logger

	mu    sync.Mutex
	stamp [3]fileStamp // of the files last loaded successfully
	cert  *tls.Certificate
	pool  *x509.CertPool
}

// fileStamp identifies a version of a file cheaply.
type fileStamp struct {
	size  int64
	mtime time.Time
	inode uint64
}

// Load returns a Store of the certificates in dir. The files must exist and
// be valid now; later changes are picked up by Current.
func Load(dir string, log *slog.Logger) (*Store, error) {
	s := &Store{dir: dir, log: log}
	if _, _, err := s.Current(); err != nil {
		return nil, err
	}
	return s, nil
}

// Current returns the node's certificate and the CA pool, rereading the
// files if they changed since the last successful load. If they changed
// but do not load, it logs why and returns the previous certificates; the
// error is only for a Store that never loaded.
func (s *Store) Current() (*tls.Certificate, *x509.CertPool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp, err := s.stat()
	if err == nil && s.cert != nil && stamp == s.stamp {
		return s.cert, s.pool, nil
	}
	if err == nil {
		err = s.load(stamp)
	}
	if err != nil {
		if s.cert == nil {
			return nil, nil, err
		}
		s.log.Warn("keeping previous certificates", "dir", s.dir, "error", err)
	}
	return s.cert, s.pool, nil
}

// stat returns the stamps of the three files.
func (s *Store) stat() ([3]fileStamp, error) {
	var out [3]fileStamp
	for i, name := range []string{CAFile, CertFile, KeyFile} {
		fi, err := os.Stat(filepath.Join(s.dir, name))
		if err != nil {
			return out, fmt.Errorf("API certificates: %w", err)
		}
		out[i] = fileStamp{size: fi.Size(), mtime: fi.ModTime()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			out[i].inode = st.Ino
		}
	}
	return out, nil
}

// load reads and parses the files, and on success records stamp.
func (s *Store) load(stamp [3]fileStamp) error {
	caPEM, err := os.ReadFile(filepath.Join(s.dir, CAFile))
	if err != nil {
		return fmt.Errorf("API certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("API certificates: %s holds no PEM certificate", filepath.Join(s.dir, CAFile))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(s.dir, CertFile), filepath.Join(s.dir, KeyFile))
	if err != nil {
		return fmt.Errorf("API certificates: %s and %s: %w", CertFile, KeyFile, err)
	}
	s.cert, s.pool, s.stamp = &cert, pool, stamp
	s.log.Info("loaded certificates", "dir", s.dir, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	return nil
}

// ServerConfig returns a TLS 1.3 server configuration that presents the
// current certificate. With clientAuth tls.RequireAndVerifyClientCert,
// clients must present a certificate signed by the current CA.
func (s *Store) ServerConfig(clientAuth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool, err := s.Current()
			if err != nil {
				return nil, err
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{*cert},
				ClientCAs:    pool,
				ClientAuth:   clientAuth,
			}, nil
		},
	}
}

// ClientConfig returns a TLS 1.3 client configuration for a server that
// must prove to be serverName (a DNS name or an IP address) with a
// certificate of the current CA, presenting the current certificate as the
// client's.
//
// Verification is done in VerifyConnection rather than by crypto/tls so that
// a renewed CA applies to new connections without rebuilding the config; it
// is the same chain and name check crypto/tls makes.
func (s *Store) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ServerName: serverName,
		// Not skipped: VerifyConnection checks chain and name below.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, err := s.Current()
			return cert, err
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, pool, err := s.Current()
			if err != nil {
				return err
			}
			return verifyServer(cs.PeerCertificates, pool, serverName)
		},
	}
}

// verifyServer checks that chain[0] is a server certificate for name
// signed by a CA in roots.
func verifyServer(chain []*x509.Certificate, roots *x509.CertPool, name string) error {
	if len(chain) == 0 {
		return errors.New("server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       name,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("verify server certificate: %w", err)
	}
	return nil
}
