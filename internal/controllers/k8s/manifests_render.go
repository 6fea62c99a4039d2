package k8s

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// The images of the cluster's add-ons, preloaded on every node.
const (
	CoreDNSImage = "registry.k8s.io/coredns/coredns:v1.15.0"
	FlannelImage = "ghcr.io/flannel-io/flannel:v0.28.10"
)

// IDs of the built-in manifests; inline manifests and ManifestsConfig
// documents follow, in config order.
const (
	ManifestBootstrapToken = "00-bootstrap-token"
	ManifestRBAC           = "01-rbac"
	ManifestClusterInfo    = "02-cluster-info"
	ManifestCoreDNS        = "10-coredns"
	ManifestFlannel        = "20-flannel"
)

// renderedManifest is one manifest: its id and its YAML.
type renderedManifest struct {
	id, objects string
}

// hash identifies the manifest's content.
func (m renderedManifest) hash() string {
	sum := sha256.Sum256([]byte(m.objects))

	return hex.EncodeToString(sum[:8])
}

// manifestData fills the templates.
type manifestData struct {
	TokenID, TokenSecret       string
	KubeletClientUser          string
	Endpoint, CAData           string
	EndpointHost, EndpointPort string
	DNSDomain, DNSServiceIP    string
	CoreDNSImage, FlannelImage string
	FlannelNetConf             string
}

var tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)

var templates = template.Must(template.New("manifests").Funcs(template.FuncMap{
	"b64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
}).Parse(`{{ define "` + ManifestBootstrapToken + `" }}` + bootstrapTokenTemplate + `{{ end }}` +
	`{{ define "` + ManifestRBAC + `" }}` + rbacTemplate + `{{ end }}` +
	`{{ define "` + ManifestClusterInfo + `" }}` + clusterInfoTemplate + `{{ end }}` +
	`{{ define "` + ManifestCoreDNS + `" }}` + coreDNSTemplate + `{{ end }}` +
	`{{ define "` + ManifestFlannel + `" }}` + flannelTemplate + `{{ end }}`))

// renderManifests returns every manifest of the config, in apply order:
// the bootstrap token, RBAC, cluster-info, CoreDNS (unless disabled),
// flannel (when it is the CNI), cluster.inlineManifests and the
// ManifestsConfig documents.
func renderManifests(cfg *config.Config) ([]renderedManifest, error) {
	m := cfg.Machine()
	if m == nil || m.Cluster == nil {
		return nil, errors.New("the config has no cluster section")
	}

	cl, err := newCluster(m.Cluster)
	if err != nil {
		return nil, err
	}

	data, err := newManifestData(m.Cluster, cl)
	if err != nil {
		return nil, err
	}

	ids := []string{ManifestBootstrapToken, ManifestRBAC, ManifestClusterInfo}
	if cl.coreDNS {
		ids = append(ids, ManifestCoreDNS)
	}

	if cl.cni == CNIFlannel {
		ids = append(ids, ManifestFlannel)
	}

	out := make([]renderedManifest, 0, len(ids))

	for _, id := range ids {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, id, data); err != nil {
			return nil, fmt.Errorf("render manifest %s: %w", id, err)
		}

		out = append(out, renderedManifest{id: id, objects: b.String()})
	}

	for i, im := range m.Cluster.InlineManifests {
		out = append(out, renderedManifest{id: fmt.Sprintf("50-inline-%02d-%s", i, im.Name), objects: im.Contents})
	}

	i := 0

	for _, d := range cfg.Documents() {
		if mc, ok := d.(*v1alpha1.ManifestsConfig); ok {
			out = append(out, renderedManifest{id: fmt.Sprintf("60-manifests-%02d-%s", i, mc.Name), objects: mc.Contents})
			i++
		}
	}

	return out, nil
}

func newManifestData(c *v1alpha1.Cluster, cl cluster) (manifestData, error) {
	parts := tokenRE.FindStringSubmatch(c.Token)
	if parts == nil {
		return manifestData{}, errors.New("cluster.token is not a bootstrap token like abcdef.0123456789abcdef")
	}

	if c.CA == nil || len(c.CA.Crt) == 0 {
		return manifestData{}, errors.New("cluster.ca.crt is missing")
	}

	netConf, err := flannelNetConf(cl)
	if err != nil {
		return manifestData{}, err
	}

	return manifestData{
		TokenID: parts[1], TokenSecret: parts[2],
		KubeletClientUser: KubeletClientUser,
		Endpoint:          c.ControlPlane.Endpoint,
		EndpointHost:      cl.endpoint.Hostname(),
		EndpointPort:      cmp.Or(cl.endpoint.Port(), "443"),
		CAData:            base64.StdEncoding.EncodeToString(c.CA.Crt),
		DNSDomain:         cl.dnsDomain,
		DNSServiceIP:      cl.dnsServiceIP().String(),
		CoreDNSImage:      CoreDNSImage,
		FlannelImage:      FlannelImage,
		FlannelNetConf:    netConf,
	}, nil
}

// flannelNetConf is flannel's net-conf.json on one line: the pod networks
// of each family and the VXLAN backend.
func flannelNetConf(cl cluster) (string, error) {
	conf := map[string]any{"Backend": map[string]string{"Type": "vxlan"}}

	var v4, v6 bool

	for _, p := range cl.podSubnets {
		if p.Addr().Is4() {
			conf["Network"], v4 = p.String(), true
		} else {
			conf["IPv6Network"], v6 = p.String(), true
		}
	}

	conf["EnableIPv4"], conf["EnableIPv6"] = v4, v6

	b, err := json.Marshal(conf)
	if err != nil {
		return "", fmt.Errorf("flannel net-conf.json: %w", err)
	}

	return strings.TrimSpace(string(b)), nil
}
