// Package inputs reads image/inputs.yaml: the pinned, checksummed Debian
// packages an image is built from (the kernel and any other package whose
// files the rootfs allowlist takes), the kernel modules init loads, and the
// ones the rootfs ships for machined.
package inputs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inputs is the content of inputs.yaml.
type Inputs struct {
	// Kernel is the Linux kernel package and what to take from it.
	Kernel Kernel `yaml:"kernel"`
	// Packages are other Debian packages whose files the rootfs allowlist
	// may reference as deb:<name>/<path>.
	Packages []Package `yaml:"packages"`
}

// Kernel pins the kernel.
type Kernel struct {
	// Package is the Debian linux-image package.
	Package Package `yaml:"package"`
	// Release is the kernel release (uname -r): /boot/vmlinuz-<release>
	// and /lib/modules/<release> in the package.
	Release string `yaml:"release"`
	// Modules are the module names init loads; their dependencies are
	// added from modules.dep.
	Modules []string `yaml:"modules"`
	// RootfsModules are the module names machined loads from the rootfs
	// before Kubernetes starts on a metal node; machine.kernel.modules may
	// name any of them. Their dependencies are added from modules.dep.
	RootfsModules []string `yaml:"rootfsModules"`
}

// Package is one pinned Debian package file.
type Package struct {
	// Name and Version identify the package (apt-get download name=version).
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	// Arch is the Debian architecture (amd64).
	Arch string `yaml:"arch"`
	// SHA256 is the checksum of the .deb file, as in the archive's index.
	SHA256 string `yaml:"sha256"`
	// Size is the .deb file's size in bytes.
	Size int64 `yaml:"size"`
	// URL is where the .deb is in the Debian archive (its pool path).
	URL string `yaml:"url"`
}

// String names the package as name=version (arch).
func (p Package) String() string {
	return fmt.Sprintf("%s=%s (%s)", p.Name, p.Version, p.Arch)
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	releaseRE = regexp.MustCompile(`^[A-Za-z0-9._+-]+$`)
	moduleRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Load reads and validates an inputs file.
func Load(path string) (*Inputs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inputs: %w", err)
	}
	in, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// Parse decodes and validates inputs; unknown fields are errors.
func Parse(data []byte) (*Inputs, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var in Inputs
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decode inputs: %w", err)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return &in, nil
}

// Validate checks every field and returns all problems at once.
func (in *Inputs) Validate() error {
	var errs []error
	errs = append(errs, in.Kernel.Package.validate("kernel.package")...)
	if !releaseRE.MatchString(in.Kernel.Release) {
		errs = append(errs, fmt.Errorf("kernel.release: %q is not a kernel release", in.Kernel.Release))
	}
	for i, m := range in.Kernel.Modules {
		if !moduleRE.MatchString(m) {
			errs = append(errs, fmt.Errorf("kernel.modules[%d]: %q is not a module name", i, m))
		}
	}
	for i, m := range in.Kernel.RootfsModules {
		if !moduleRE.MatchString(m) {
			errs = append(errs, fmt.Errorf("kernel.rootfsModules[%d]: %q is not a module name", i, m))
		}
	}
	seen := map[string]bool{in.Kernel.Package.Name: true}
	for i, p := range in.Packages {
		field := fmt.Sprintf("packages[%d]", i)
		errs = append(errs, p.validate(field)...)
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: package %s is listed twice", field, p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

func (p Package) validate(field string) []error {
	var errs []error
	if !nameRE.MatchString(p.Name) {
		errs = append(errs, fmt.Errorf("%s.name: %q is not a Debian package name", field, p.Name))
	}
	if p.Version == "" || strings.ContainsAny(p.Version, " /") {
		errs = append(errs, fmt.Errorf("%s.version: %q is not a Debian version", field, p.Version))
	}
	if p.Arch == "" {
		errs = append(errs, fmt.Errorf("%s.arch: missing", field))
	}
	if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 || strings.ToLower(p.SHA256) != p.SHA256 {
		errs = append(errs, fmt.Errorf("%s.sha256: want 64 lower-case hex digits, got %q", field, p.SHA256))
	}
	if p.Size <= 0 {
		errs = append(errs, fmt.Errorf("%s.size: want the .deb size in bytes, got %d", field, p.Size))
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, ".deb") {
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) URL of a .deb", field, p.URL))
	}
	return errs
}
