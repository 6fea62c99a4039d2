package k8s

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
)

// KubeProgram is the multi-call Kubernetes binary on the node; its first
// argument names the component.
const KubeProgram = "/usr/bin/kube"

// IDs of the control plane's services.
const (
	APIServerID         = "kube-apiserver"
	ControllerManagerID = "kube-controller-manager"
	SchedulerID         = "kube-scheduler"
)

// Health endpoints of the control plane's components, on loopback.
const (
	APIServerReadyz         = "https://127.0.0.1:6443/readyz"
	ControllerManagerHealth = "https://127.0.0.1:10257/healthz"
	SchedulerHealth         = "https://127.0.0.1:10259/healthz"
)

// controlPlaneInput is what the components' command lines derive from.
type controlPlaneInput struct {
	cluster cluster
	// advertise is the address kube-apiserver advertises to the cluster.
	advertise netip.Addr
	// extra are cluster.*.extraArgs of each component.
	apiServerExtra, controllerManagerExtra, schedulerExtra map[string]string
}

// apiServerArgs is kube-apiserver's command line.
func apiServerArgs(in controlPlaneInput) []string {
	flags := [][2]string{
		{"advertise-address", in.advertise.String()},
		{"allow-privileged", "true"},
		{"authorization-mode", "Node,RBAC"},
		{"bind-address", "0.0.0.0"},
		{"client-ca-file", CACertPath},
		{"enable-admission-plugins", "NodeRestriction"},
		{"enable-bootstrap-token-auth", "true"},
		{"encryption-provider-config", EncryptionConfigPath},
		{"etcd-cafile", etcd.CACertPath},
		{"etcd-certfile", etcd.APIServerClientCertPath},
		{"etcd-keyfile", etcd.APIServerClientKeyPath},
		{"etcd-servers", etcd.LocalClientURL},
		{"kubelet-client-certificate", KubeletClientCertPath},
		{"kubelet-client-key", KubeletClientKeyPath},
		{"kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"},
		{"profiling", "false"},
		{"proxy-client-cert-file", FrontProxyClientCertPath},
		{"proxy-client-key-file", FrontProxyClientKeyPath},
		{"requestheader-allowed-names", FrontProxyClientUser},
		{"requestheader-client-ca-file", FrontProxyCACertPath},
		{"requestheader-extra-headers-prefix", "X-Remote-Extra-"},
		{"requestheader-group-headers", "X-Remote-Group"},
		{"requestheader-username-headers", "X-Remote-User"},
		{"secure-port", strconv.Itoa(APIServerPort)},
		{"service-account-issuer", "https://kubernetes.default.svc." + in.cluster.dnsDomain},
		{"service-account-key-file", ServiceAccountPubPath},
		{"service-account-signing-key-file", ServiceAccountKeyPath},
		{"service-cluster-ip-range", joinPrefixes(in.cluster.serviceSubnets)},
		{"tls-cert-file", APIServerCertPath},
		{"tls-min-version", "VersionTLS12"},
		{"tls-private-key-file", APIServerKeyPath},
	}

	if in.advertise.IsLoopback() {
		// The endpoints of the kubernetes Service cannot be a loopback address.
		flags = append(flags, [2]string{"endpoint-reconciler-type", "none"})
	}

	return append([]string{KubeProgram, APIServerID}, mergeFlags(flags, in.apiServerExtra)...)
}

// controllerManagerArgs is kube-controller-manager's command line. It
// allocates node pod CIDRs, signs kubelet certificates with the cluster CA
// and runs the bootstrap-token controllers.
func controllerManagerArgs(in controlPlaneInput) []string {
	flags := [][2]string{
		{"allocate-node-cidrs", "true"},
		{"authentication-kubeconfig", ControllerManagerKubeconfigPath},
		{"authorization-kubeconfig", ControllerManagerKubeconfigPath},
		{"bind-address", "127.0.0.1"},
		{"cluster-cidr", joinPrefixes(in.cluster.podSubnets)},
		{"cluster-name", in.cluster.name},
		{"cluster-signing-cert-file", CACertPath},
		{"cluster-signing-key-file", CAKeyPath},
		{"controllers", "*,bootstrapsigner,tokencleaner"},
		{"kubeconfig", ControllerManagerKubeconfigPath},
		{"leader-elect", "true"},
		{"profiling", "false"},
		{"root-ca-file", CACertPath},
		{"service-account-private-key-file", ServiceAccountKeyPath},
		{"service-cluster-ip-range", joinPrefixes(in.cluster.serviceSubnets)},
		{"use-service-account-credentials", "true"},
	}

	return append([]string{KubeProgram, ControllerManagerID}, mergeFlags(flags, in.controllerManagerExtra)...)
}

// schedulerArgs is kube-scheduler's command line.
func schedulerArgs(in controlPlaneInput) []string {
	flags := [][2]string{
		{"authentication-kubeconfig", SchedulerKubeconfigPath},
		{"authorization-kubeconfig", SchedulerKubeconfigPath},
		{"bind-address", "127.0.0.1"},
		{"kubeconfig", SchedulerKubeconfigPath},
		{"leader-elect", "true"},
		{"profiling", "false"},
	}

	return append([]string{KubeProgram, SchedulerID}, mergeFlags(flags, in.schedulerExtra)...)
}

// mergeFlags renders flags as --name=value, replacing the values of flags
// that extra names and appending the other extra flags sorted by name.
func mergeFlags(flags [][2]string, extra map[string]string) []string {
	out := make([]string, 0, len(flags)+len(extra))
	seen := map[string]bool{}

	for _, f := range flags {
		v := f[1]
		if e, ok := extra[f[0]]; ok {
			v = e
		}

		seen[f[0]] = true
		out = append(out, "--"+f[0]+"="+v)
	}

	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if !seen[k] {
			out = append(out, "--"+k+"="+extra[k])
		}
	}

	return out
}
