// Package config reads and writes plinthctl's client config: the file,
// like a kubeconfig, that holds the endpoints, default nodes and TLS
// material of every cluster the client talks to.
//
//	context: demo
//	contexts:
//	  demo:
//	    endpoints: [10.5.0.2]
//	    nodes: [10.5.0.2]
//	    ca: <base64 PEM>    # the OS CA certificate
//	    crt: <base64 PEM>   # client certificate; Organization = roles
//	    key: <base64 PEM>
//
// Commands find the file with [Resolve]; a missing file is an empty config,
// so that the first `config merge` or `config add` creates it. [Config.Save]
// replaces the file atomically with mode 0600.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// EnvPath is the environment variable that names the client config when
// --plinthconfig is not given.
const EnvPath = "PLINTHCONFIG"

// Config is a client config: a set of named contexts and the current one.
type Config struct {
	// Context is the name of the current context.
	Context string `yaml:"context,omitempty"`
	// Contexts are the known contexts by name.
	Contexts map[string]*Context `yaml:"contexts"`

	// path is where the config was read from, for error messages.
	path string
	// override is the context chosen on the command line (--context),
	// which wins over Context in Current.
	override string
}

// Context is how to reach one cluster: where to connect, which nodes to
// target by default and the TLS material, each a base64-encoded PEM block.
type Context struct {
	// Endpoints are the addresses plinthctl connects to.
	Endpoints []string `yaml:"endpoints,omitempty"`
	// Nodes are the default targets of calls (-n).
	Nodes []string `yaml:"nodes,omitempty"`
	// CA is the OS CA certificate that signs the nodes' API certificates.
	CA string `yaml:"ca,omitempty"`
	// Crt is the client certificate; its Organization lists the roles.
	Crt string `yaml:"crt,omitempty"`
	// Key is the client certificate's private key.
	Key string `yaml:"key,omitempty"`
}

// New returns an empty config.
func New() *Config { return &Config{Contexts: map[string]*Context{}} }

// FromBytes parses a client config strictly: unknown fields, duplicate keys
// and a second YAML document are errors that name the offending line. Empty
// input is an empty config.
func FromBytes(data []byte) (*Config, error) {
	cfg := New()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: a client config is one YAML document, found another", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*Context{}
	}
	for name, c := range cfg.Contexts {
		if c == nil { // "name:" with no body
			c = &Context{}
			cfg.Contexts[name] = c
		}
		if len(c.Endpoints) == 0 { // "endpoints: []" is no endpoints
			c.Endpoints = nil
		}
		if len(c.Nodes) == 0 {
			c.Nodes = nil
		}
	}
	return cfg, nil
}

// unknownField matches yaml.v3's message for a field KnownFields rejects,
// which names a Go type the user never sees.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlError flattens yaml.v3's multi-line type errors into one line (each
// part already starts with "line N:") and words them for the user.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg := strings.Join(te.Errors, "; ")
		return errors.New(unknownField.ReplaceAllString(msg, `unknown field "$1"`))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// Bytes renders the config as YAML, contexts sorted by name.
func (c *Config) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode client config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode client config: %w", err)
	}
	return buf.Bytes(), nil
}

// Open reads the client config at path. A missing file is an empty config,
// not an error.
func Open(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		cfg := New()
		cfg.path = path
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read client config: %w", err)
	}
	cfg, err := FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("client config %s: %w", path, err)
	}
	cfg.path = path
	return cfg, nil
}

// Save writes the config to path atomically with mode 0600, creating the
// parent directory with mode 0700 if needed. Readers see either the old
// file or the new one, never a mix.
func (c *Config) Save(path string) error {
	data, err := c.Bytes()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	c.path = path
	return nil
}

// Path is where the config was read from or last saved to; empty for a
// config built in memory.
func (c *Config) Path() string { return c.path }

// Names returns the names of the contexts, sorted.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.Contexts))
	for name := range c.Contexts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// DefaultPath is the client config's path when --plinthconfig is not given:
// $PLINTHCONFIG if set, else ~/.plinth/config.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find client config: set $%s or --plinthconfig: %w", EnvPath, err)
	}
	return filepath.Join(home, ".plinth", "config"), nil
}

// Resolve finds and opens the client config the way every plinthctl command
// does: flagPath (--plinthconfig) if set, else [DefaultPath]. flagContext
// (--context), if set, becomes the context [Config.Current] returns without
// being written back by Save.
func Resolve(flagPath, flagContext string) (path string, cfg *Config, err error) {
	path = flagPath
	if path == "" {
		if path, err = DefaultPath(); err != nil {
			return "", nil, err
		}
	}
	cfg, err = Open(path)
	if err != nil {
		return "", nil, err
	}
	cfg.override = flagContext
	return path, cfg, nil
}
