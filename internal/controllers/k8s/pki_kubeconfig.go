package k8s

import (
	"encoding/base64"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// kubeconfig is the subset of client-go's Config file the control plane
// writes: one cluster, one user with an embedded client certificate, one
// context.
type kubeconfig struct {
	APIVersion     string         `yaml:"apiVersion"`
	Kind           string         `yaml:"kind"`
	Clusters       []namedCluster `yaml:"clusters"`
	Users          []namedUser    `yaml:"users"`
	Contexts       []namedContext `yaml:"contexts"`
	CurrentContext string         `yaml:"current-context"`
	Preferences    struct{}       `yaml:"preferences"`
}

type namedCluster struct {
	Name    string `yaml:"name"`
	Cluster struct {
		Server                   string `yaml:"server"`
		CertificateAuthorityData string `yaml:"certificate-authority-data"`
	} `yaml:"cluster"`
}

type namedUser struct {
	Name string `yaml:"name"`
	User struct {
		ClientCertificateData string `yaml:"client-certificate-data"`
		ClientKeyData         string `yaml:"client-key-data"`
	} `yaml:"user"`
}

type namedContext struct {
	Name    string `yaml:"name"`
	Context struct {
		Cluster string `yaml:"cluster"`
		User    string `yaml:"user"`
	} `yaml:"context"`
}

// renderKubeconfig returns a kubeconfig for user on cluster clusterName at
// server, trusting the PEM CA and authenticating with the PEM certificate
// and key.
func renderKubeconfig(clusterName, server, user string, caPEM, crtPEM, keyPEM []byte) ([]byte, error) {
	b64 := base64.StdEncoding.EncodeToString
	ctx := user + "@" + clusterName

	kc := kubeconfig{APIVersion: "v1", Kind: "Config", CurrentContext: ctx}

	var c namedCluster
	c.Name = clusterName
	c.Cluster.Server = server
	c.Cluster.CertificateAuthorityData = b64(caPEM)

	var u namedUser
	u.Name = user
	u.User.ClientCertificateData = b64(crtPEM)
	u.User.ClientKeyData = b64(keyPEM)

	var x namedContext
	x.Name = ctx
	x.Context.Cluster = clusterName
	x.Context.User = user

	kc.Clusters, kc.Users, kc.Contexts = []namedCluster{c}, []namedUser{u}, []namedContext{x}

	out, err := yaml.Marshal(kc)
	if err != nil {
		return nil, fmt.Errorf("render kubeconfig for %s: %w", user, err)
	}

	return out, nil
}
