// Package version holds the build's version, set by the linker.
package version

import "runtime"

// Tag is the Plinth version, set with -ldflags -X at build time.
var Tag = "dev"

// Kubernetes is the Kubernetes version Plinth builds and runs by default.
const Kubernetes = "v1.37.2"

// GoVersion is the Go toolchain the binary was built with.
func GoVersion() string { return runtime.Version() }
