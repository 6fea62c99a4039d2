package v1alpha1

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

var labelValueRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func (cl *Cluster) validate(cp bool, c *validation.Collector) {
	if cl.ClusterName != "" && !dnsLabelRE.MatchString(cl.ClusterName) {
		c.Errorf("cluster.clusterName", "%q is not a valid cluster name: expected a DNS label (a-z, 0-9, '-', at most 63 characters)", cl.ClusterName)
	}
	if cl.KubernetesVersion != "" && !versionRE.MatchString(cl.KubernetesVersion) {
		c.Errorf("cluster.kubernetesVersion", "%q is not a version: expected the form v1.37.2", cl.KubernetesVersion)
	}
	if cl.ControlPlane == nil || cl.ControlPlane.Endpoint == "" {
		c.Errorf("cluster.controlPlane.endpoint", "missing: expected the https URL of the Kubernetes API, like https://10.5.0.2:6443")
	} else {
		checkURL(c, "cluster.controlPlane.endpoint", cl.ControlPlane.Endpoint, "https")
	}
	if cl.Network != nil {
		cl.Network.validate(c)
	}
	checkToken(c, "cluster.token", cl.Token, true)
	cl.validateSecrets(cp, c)
	if cl.Etcd != nil {
		checkExtraArgs(c, "cluster.etcd.extraArgs", cl.Etcd.ExtraArgs, "data-dir", "name")
		for i, s := range cl.Etcd.AdvertisedSubnets {
			checkCIDR(c, validation.Index("cluster.etcd.advertisedSubnets", i), strings.TrimPrefix(s, "!"))
		}
	}
	if cl.APIServer != nil {
		checkSANs(c, "cluster.apiServer.certSANs", cl.APIServer.CertSANs)
		checkExtraArgs(c, "cluster.apiServer.extraArgs", cl.APIServer.ExtraArgs, "etcd-servers", "tls-cert-file", "tls-private-key-file", "client-ca-file")
	}
	if cl.ControllerManager != nil {
		checkExtraArgs(c, "cluster.controllerManager.extraArgs", cl.ControllerManager.ExtraArgs, "kubeconfig")
	}
	if cl.Scheduler != nil {
		checkExtraArgs(c, "cluster.scheduler.extraArgs", cl.Scheduler.ExtraArgs, "kubeconfig")
	}
	if cl.Proxy != nil {
		if cl.Proxy.Mode != "" {
			oneOf(c, "cluster.proxy.mode", cl.Proxy.Mode, "iptables", "nftables")
		}
		checkExtraArgs(c, "cluster.proxy.extraArgs", cl.Proxy.ExtraArgs, "kubeconfig")
	}
	if cl.AllowSchedulingOnControlPlanes && !cp {
		c.Warnf("cluster.allowSchedulingOnControlPlanes", "has an effect only in control-plane configs")
	}
	validateManifests(c, "cluster.inlineManifests", cl.InlineManifests)
}

func (cl *Cluster) validateSecrets(cp bool, c *validation.Collector) {
	want := -1
	role := "worker"
	if cp {
		want, role = 1, "control plane"
		if cl.ID == "" {
			c.Errorf("cluster.id", "missing: expected the cluster id from `plinthctl gen secrets`")
		}
		if cl.Secret == "" {
			c.Errorf("cluster.secret", "missing: expected the cluster secret from `plinthctl gen secrets`")
		}
		if cl.SecretboxEncryptionSecret == "" {
			c.Errorf("cluster.secretboxEncryptionSecret", "missing: a control plane needs the key that encrypts Secrets at rest")
		}
	}
	if s := cl.SecretboxEncryptionSecret; s != "" {
		if raw, err := base64.StdEncoding.DecodeString(s); err != nil || len(raw) != 32 {
			c.Errorf("cluster.secretboxEncryptionSecret", "expected 32 random bytes in base64 (44 characters)")
		}
		if !cp {
			c.Errorf("cluster.secretboxEncryptionSecret", "a worker must not carry the encryption key: remove it")
		}
	}
	checkCA(c, "cluster.ca", cl.CA, want, role)
	if cp || cl.AggregatorCA != nil {
		checkCA(c, "cluster.aggregatorCA", cl.AggregatorCA, want, role)
	}
	if cp || (cl.Etcd != nil && cl.Etcd.CA != nil) {
		var ca = (*Etcd)(nil)
		if cl.Etcd != nil {
			ca = cl.Etcd
		}
		if ca == nil {
			checkCA(c, "cluster.etcd.ca", nil, want, role)
		} else {
			checkCA(c, "cluster.etcd.ca", ca.CA, want, role)
		}
	}
	switch {
	case cl.ServiceAccount == nil || len(cl.ServiceAccount.Key) == 0:
		if cp {
			c.Errorf("cluster.serviceAccount.key", "missing: a control plane needs the service-account signing key")
		}
	case !cp:
		c.Errorf("cluster.serviceAccount.key", "a worker must not carry the service-account signing key: remove it")
	default:
		checkPEMKey(c, "cluster.serviceAccount.key", cl.ServiceAccount.Key)
	}
}

func (n *ClusterNetwork) validate(c *validation.Collector) {
	if n.DNSDomain != "" && !isDNSName(n.DNSDomain) {
		c.Errorf("cluster.network.dnsDomain", "%q is not a DNS domain", n.DNSDomain)
	}
	pods := checkSubnets(c, "cluster.network.podSubnets", n.PodSubnets)
	svcs := checkSubnets(c, "cluster.network.serviceSubnets", n.ServiceSubnets)
	for i, p := range pods {
		for j, s := range svcs {
			if p.IsValid() && s.IsValid() && p.Overlaps(s) {
				c.Errorf(validation.Index("cluster.network.serviceSubnets", j), "%s overlaps the pod subnet %s (cluster.network.podSubnets[%d]): expected disjoint ranges", s, p, i)
			}
		}
	}
	if len(pods) > 0 && len(svcs) > 0 && familiesOf(pods) != familiesOf(svcs) {
		c.Errorf("cluster.network.serviceSubnets", "IP families differ from podSubnets (%s vs %s): expected the same families", familiesOf(svcs), familiesOf(pods))
	}
	if n.CNI != nil {
		oneOf(c, "cluster.network.cni.name", n.CNI.Name, "flannel", "none")
	}
}

// checkSubnets checks a list of at most one subnet per IP family.
func checkSubnets(c *validation.Collector, p string, subnets []string) []netip.Prefix {
	out := make([]netip.Prefix, len(subnets))
	seen := map[bool]int{}
	for i, s := range subnets {
		pfx, ok := checkCIDR(c, validation.Index(p, i), s)
		if !ok {
			continue
		}
		if pfx.Masked() != pfx {
			c.Errorf(validation.Index(p, i), "%q has host bits set: expected the network address %s", s, pfx.Masked())
		}
		if j, dup := seen[pfx.Addr().Is4()]; dup {
			c.Errorf(validation.Index(p, i), "a second %s subnet: expected at most one per IP family (the first is %s[%d])", family(pfx.Addr()), p, j)
		}
		seen[pfx.Addr().Is4()] = i
		out[i] = pfx
	}
	return out
}

func familiesOf(ps []netip.Prefix) string {
	var v4, v6 bool
	for _, p := range ps {
		if p.IsValid() {
			v4 = v4 || p.Addr().Is4()
			v6 = v6 || p.Addr().Is6()
		}
	}
	switch {
	case v4 && v6:
		return "dual-stack"
	case v6:
		return "IPv6"
	}
	return "IPv4"
}

func checkURL(c *validation.Collector, p, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		c.Errorf(p, "%q is not a URL: expected %s://host[:port]", raw, strings.Join(schemes, "|"))
		return
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		c.Errorf(p, "%q has scheme %q: expected %s", raw, u.Scheme, strings.Join(schemes, " or "))
	}
	if port := u.Port(); u.Port() == "" && strings.HasSuffix(u.Host, ":") || port == "0" {
		c.Errorf(p, "%q has an invalid port", raw)
	}
}

func validateManifests(c *validation.Collector, p string, ms []InlineManifest) {
	seen := map[string]int{}
	for i, m := range ms {
		ip := validation.Index(p, i)
		if m.Name == "" {
			c.Errorf(validation.Join(ip, "name"), "missing: every manifest needs a name")
		} else if j, dup := seen[m.Name]; dup {
			c.Errorf(validation.Join(ip, "name"), "%q is already the name of %s[%d]: expected unique names", m.Name, p, j)
		} else {
			seen[m.Name] = i
		}
		if err := checkManifest(m.Contents); err != nil {
			c.Errorf(validation.Join(ip, "contents"), "%v", err)
		}
	}
}

// checkManifest checks that contents are YAML documents of Kubernetes objects.
func checkManifest(contents string) error {
	if strings.TrimSpace(contents) == "" {
		return errors.New("empty: expected one or more YAML documents of Kubernetes objects")
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(contents)))
	for i := 1; ; i++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errors.New("document " + itoa(i) + " is not YAML: " + strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if obj == nil {
			continue
		}
		if obj["apiVersion"] == nil || obj["kind"] == nil {
			return errors.New("document " + itoa(i) + " is not a Kubernetes object: expected apiVersion and kind")
		}
	}
}

func itoa(i int) string { return strings.TrimSpace(plural(i, "1", "%d")) }
