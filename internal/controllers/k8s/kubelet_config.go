package k8s

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Node paths of the kubelet.
const (
	KubeletBinary = "/usr/bin/kubelet"
	// KubeletDir is kubelet's root directory.
	KubeletDir = "/var/lib/kubelet"
	// KubeletConfigPath is the KubeletConfiguration Plinth writes.
	KubeletConfigPath = KubeletDir + "/config.yaml"
	// KubeletBootstrapKubeconfigPath holds the bootstrap token kubelet
	// asks for its client certificate with.
	KubeletBootstrapKubeconfigPath = KubeletDir + "/bootstrap-kubeconfig"
	// KubeletBootstrapTokenPath holds the same token alone, for the
	// kubelet's start condition (the API accepts it and its RBAC).
	KubeletBootstrapTokenPath = KubeletDir + "/bootstrap-token"
	// KubeletKubeconfigPath is written by kubelet after the TLS bootstrap;
	// it names the rotated client certificate of system:node:<name>.
	KubeletKubeconfigPath = KubeletDir + "/kubeconfig"
	// KubeletCertDir holds kubelet's client and serving certificates.
	KubeletCertDir = KubeletDir + "/pki"
	// KubeletResolvConfPath is the resolv.conf pods with dnsPolicy Default
	// (CoreDNS) get: the node's without loopback nameservers.
	KubeletResolvConfPath = KubeletDir + "/resolv.conf"
	// KubeletHealthzURL is kubelet's local health endpoint.
	KubeletHealthzURL = "http://127.0.0.1:10248/healthz"
	// KubernetesCACertPath is the cluster CA written on every node by the
	// PKI controller (kubelet's client CA).
	KubernetesCACertPath = "/system/secrets/kubernetes/ca.crt"
)

// kubeletSettings decide the KubeletConfiguration.
type kubeletSettings struct {
	clusterDNS    netip.Addr
	clusterDomain string
	// cgroupV1 sets failCgroupV1: false (the host only has v1 controllers).
	cgroupV1 bool
	// localCluster relaxes disk-pressure eviction and image garbage
	// collection: container-mode nodes share the host's disk.
	localCluster bool
	// extra is machine.kubelet.extraConfig, merged last.
	extra map[string]any
}

// renderKubeletConfig returns the KubeletConfiguration YAML.
func renderKubeletConfig(s kubeletSettings) ([]byte, error) {
	cfg := map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1",
		"kind":       "KubeletConfiguration",
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": false},
			"webhook":   map[string]any{"enabled": true, "cacheTTL": "2m0s"},
			"x509":      map[string]any{"clientCAFile": KubernetesCACertPath},
		},
		"authorization":            map[string]any{"mode": "Webhook"},
		"cgroupDriver":             "cgroupfs",
		"clusterDNS":               []any{s.clusterDNS.String()},
		"clusterDomain":            s.clusterDomain,
		"containerRuntimeEndpoint": "unix://" + ContainerdSocket,
		"failSwapOn":               false,
		// Check, never write, the kernel settings kubelet wants; in
		// container mode machined shows it the values it expects.
		"protectKernelDefaults": true,
		"resolvConf":            KubeletResolvConfPath,
		"rotateCertificates":    true,
		"serverTLSBootstrap":    false,
		"staticPodPath":         "",
		// Flexvolume drivers would go under /usr, read-only on a node.
		"volumePluginDir": KubeletDir + "/volumeplugins",
	}
	if s.cgroupV1 {
		cfg["failCgroupV1"] = false
	}
	if s.localCluster {
		cfg["evictionHard"] = map[string]any{
			"imagefs.available": "0%", "nodefs.available": "0%", "nodefs.inodesFree": "0%",
		}
		cfg["imageGCHighThresholdPercent"] = 100
	}
	mergeConfig(cfg, s.extra)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubelet config: %w", err)
	}
	return append([]byte("# Written by Plinth (machined). Changes are overwritten.\n"), out...), nil
}

// mergeConfig merges src into dst: maps merge key by key, anything else
// replaces.
func mergeConfig(dst, src map[string]any) {
	for k, v := range src {
		sm, ok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if ok && dok {
			merged := maps.Clone(dm)
			mergeConfig(merged, sm)
			dst[k] = merged
			continue
		}
		dst[k] = v
	}
}

// nodeKubeconfig renders a kubeconfig for one cluster and one user.
type nodeKubeconfig struct {
	cluster, server string
	ca              []byte
	user            string
	// token, or client certificate files (node paths).
	token             string
	certFile, keyFile string
}

func (k nodeKubeconfig) render() ([]byte, error) {
	user := map[string]any{}
	if k.token != "" {
		user["token"] = k.token
	} else {
		user["client-certificate"], user["client-key"] = k.certFile, k.keyFile
	}
	ctxName := k.user + "@" + k.cluster
	doc := map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{"name": k.cluster, "cluster": map[string]any{
			"server": k.server, "certificate-authority-data": base64.StdEncoding.EncodeToString(k.ca),
		}}},
		"users": []any{map[string]any{"name": k.user, "user": user}},
		"contexts": []any{map[string]any{"name": ctxName, "context": map[string]any{
			"cluster": k.cluster, "user": k.user,
		}}},
		"current-context": ctxName,
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return out, nil
}

// podResolvConf derives the resolv.conf of pods with dnsPolicy Default
// from the node's: loopback nameservers (Docker's 127.0.0.11, a local
// cache) are unreachable from a pod and would make CoreDNS forward to
// itself, so they are dropped. With none left, fallback (a node address:
// no loop, lookups outside the cluster fail) is used.
func podResolvConf(node []byte, fallback netip.Addr) []byte {
	var out bytes.Buffer
	out.WriteString("# Written by Plinth from the node's resolv.conf, without loopback nameservers.\n")
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(node))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		if fields[0] == "nameserver" {
			if len(fields) < 2 {
				continue
			}
			a, err := netip.ParseAddr(fields[1])
			if err != nil || a.IsLoopback() || a.IsUnspecified() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers == 0 && fallback.IsValid() {
		out.WriteString("nameserver " + fallback.String() + "\n")
	}
	return out.Bytes()
}
