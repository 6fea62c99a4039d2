package k8s

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/internal/kube"
)

// nodeKubeconfigFile is what the node components read of a kubeconfig:
// the current context's server, CA and client certificate, embedded
// (-data) or as files (the kubelet's rotated certificate).
type nodeKubeconfigFile struct {
	Clusters []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			ClientCertificate     string `yaml:"client-certificate"`
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKey             string `yaml:"client-key"`
			ClientKeyData         string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	CurrentContext string `yaml:"current-context"`
}

// errNoKubeconfig is returned while a kubeconfig does not exist yet (the
// kubelet's before its TLS bootstrap).
var errNoKubeconfig = errors.New("kubeconfig does not exist yet")

// loadKubeconfig reads the kubeconfig at the node path p and returns the
// client config of its current context; file paths in it are node paths.
func loadKubeconfig(root, p string) (kube.Config, error) {
	data, err := os.ReadFile(filepath.Join(root, p))
	if errors.Is(err, os.ErrNotExist) {
		return kube.Config{}, fmt.Errorf("%s: %w", p, errNoKubeconfig)
	}
	if err != nil {
		return kube.Config{}, fmt.Errorf("kubeconfig: %w", err)
	}
	var kc nodeKubeconfigFile
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return kube.Config{}, fmt.Errorf("kubeconfig %s: %w", p, err)
	}
	clusterName, userName := "", ""
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext || (kc.CurrentContext == "" && len(kc.Contexts) == 1) {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	var cfg kube.Config
	found := false
	for _, c := range kc.Clusters {
		if c.Name != clusterName {
			continue
		}
		found = true
		cfg.Server = c.Cluster.Server
		if cfg.CA, err = pemOf(root, c.Cluster.CertificateAuthorityData, c.Cluster.CertificateAuthority); err != nil {
			return kube.Config{}, fmt.Errorf("kubeconfig %s: CA: %w", p, err)
		}
	}
	if !found {
		return kube.Config{}, fmt.Errorf("kubeconfig %s: no cluster for context %q", p, kc.CurrentContext)
	}
	for _, u := range kc.Users {
		if u.Name != userName {
			continue
		}
		if cfg.Cert, err = pemOf(root, u.User.ClientCertificateData, u.User.ClientCertificate); err != nil {
			return kube.Config{}, fmt.Errorf("kubeconfig %s: client certificate: %w", p, err)
		}
		if cfg.Key, err = pemOf(root, u.User.ClientKeyData, u.User.ClientKey); err != nil {
			return kube.Config{}, fmt.Errorf("kubeconfig %s: client key: %w", p, err)
		}
	}
	if len(cfg.Cert) == 0 || len(cfg.Key) == 0 {
		return kube.Config{}, fmt.Errorf("kubeconfig %s: no client certificate for user %q", p, userName)
	}
	return cfg, nil
}

// pemOf returns base64 data, else the content of the node path file.
func pemOf(root, data, file string) ([]byte, error) {
	if data != "" {
		return base64.StdEncoding.DecodeString(data)
	}
	if file == "" {
		return nil, nil
	}
	return os.ReadFile(filepath.Join(root, file))
}

// kubeClientFor returns a client of the API named by the kubeconfig at the
// node path p; the caller closes it.
func kubeClientFor(root, p string) (*kube.Client, error) {
	cfg, err := loadKubeconfig(root, p)
	if err != nil {
		return nil, err
	}
	return kube.New(cfg)
}

// nodePodCIDRs reads spec.podCIDRs (else spec.podCIDR) of the Node name,
// with the credentials of the kubeconfig at the node path p.
func nodePodCIDRs(ctx context.Context, root, p, name string) ([]string, error) {
	c, err := kubeClientFor(root, p)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	obj, err := c.GetObject(ctx, "v1", "Node", "", name)
	if err != nil {
		return nil, fmt.Errorf("get node %s: %w", name, err)
	}
	spec, _ := obj["spec"].(map[string]any)
	var out []string
	if list, ok := spec["podCIDRs"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	if s, ok := spec["podCIDR"].(string); ok && len(out) == 0 && s != "" {
		out = append(out, s)
	}
	return out, nil
}

// NodeReady reports nil when the Node name has condition Ready=True, read
// with the kubelet's own credentials (a node may read its Node object).
// It is the Kubernetes part of an upgrade's health gate.
func NodeReady(ctx context.Context, root, name string) error {
	c, err := kubeClientFor(root, KubeletKubeconfigPath)
	if err != nil {
		return fmt.Errorf("kubelet credentials: %w", err)
	}
	defer c.Close()
	node, err := c.GetObject(ctx, "v1", "Node", "", name)
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	status, _ := node["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, raw := range conds {
		c, _ := raw.(map[string]any)
		if c["type"] != "Ready" {
			continue
		}
		if c["status"] == "True" {
			return nil
		}
		return fmt.Errorf("node %s is not Ready: %v", name, c["message"])
	}
	return fmt.Errorf("node %s has no Ready condition yet", name)
}
