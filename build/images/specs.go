package main

import (
	"encoding/binary"
	"sort"
)

// spec describes one image: where it is published upstream (the name
// kubelet, containerd and the cluster's manifests refer to), the files
// taken from the program's cache entry, and the runtime config.
type spec struct {
	// Repository is the image name without tag; the tag is the program's
	// version from BUILDINFO.
	Repository string
	Files      []file
	Entrypoint []string
	// User is uid:gid, numeric: a FROM scratch image has no /etc/passwd.
	User         string
	ExposedPorts []string
	// Source is the Go module the program was built from (a label).
	Source string
}

// file is one file of an image, copied from the program's cache entry.
type file struct {
	Src  string // name in the cache entry
	Dst  string // absolute path in the image
	Mode int64
	// Caps are file capabilities (bit numbers) set permitted and effective
	// through the security.capability xattr.
	Caps []uint
}

// capNetBindService is CAP_NET_BIND_SERVICE from linux/capability.h.
const capNetBindService = 10

// imagePath is the PATH every image sets, as Docker's default.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// specs are the images a cluster needs before it can pull anything.
var specs = map[string]spec{
	// The pod sandbox: the tag containerd's CRI and kubelet v1.37 expect.
	"pause": {
		Repository: "registry.k8s.io/pause",
		Files:      []file{{Src: "pause", Dst: "/pause", Mode: 0o755}},
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
		Source:     "github.com/plinth-os/plinth/build/pause",
	},
	// Cluster DNS. It runs as non-root and binds port 53 through the file
	// capability, as the upstream image does; its Deployment adds
	// NET_BIND_SERVICE to the container's capabilities.
	"coredns": {
		Repository:   "registry.k8s.io/coredns/coredns",
		Files:        []file{{Src: "coredns", Dst: "/coredns", Mode: 0o755, Caps: []uint{capNetBindService}}},
		Entrypoint:   []string{"/coredns"},
		User:         "65532:65532",
		ExposedPorts: []string{"53/tcp", "53/udp", "9153/tcp"},
		Source:       "github.com/coredns/coredns",
	},
	// The flannel daemon, at the path kube-flannel's DaemonSet runs. Its
	// CNI plugin (flannel-io/cni-plugin) is not included: that module is
	// not served here, and the node uses the bridge and host-local plugins.
	"flannel": {
		Repository: "ghcr.io/flannel-io/flannel",
		Files:      []file{{Src: "flanneld", Dst: "/opt/bin/flanneld", Mode: 0o755}},
		Entrypoint: []string{"/opt/bin/flanneld"},
		User:       "0:0",
		Source:     "github.com/flannel-io/flannel",
	},
}

func specNames() []string {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// capabilityXattr encodes caps as a struct vfs_cap_data, revision 2 (the
// security.capability value setcap writes): magic with the effective flag,
// then permitted and inheritable words for capabilities 0-31 and 32-63.
func capabilityXattr(caps []uint) string {
	const revision2, effective = 0x02000000, 0x000001
	var permitted [2]uint32
	for _, c := range caps {
		permitted[c/32] |= 1 << (c % 32)
	}
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], revision2|effective)
	binary.LittleEndian.PutUint32(b[4:], permitted[0])
	binary.LittleEndian.PutUint32(b[12:], permitted[1])
	return string(b)
}
