package k8s

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resetcd "github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	rt "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func TestControlPlaneArgs(t *testing.T) {
	base := func() *v1alpha1.Cluster {
		return &v1alpha1.Cluster{
			ClusterName:  "demo",
			ControlPlane: &v1alpha1.ControlPlane{Endpoint: "https://10.5.0.100:6443"},
		}
	}

	tests := []struct {
		name      string
		cluster   func() *v1alpha1.Cluster
		addresses []string
		args      func(controlPlaneInput) []string
		want      []string // flags that must be present
		notWant   []string // flag prefixes that must be absent
	}{
		{
			name: "apiserver defaults", cluster: base, addresses: []string{"10.244.0.1/24", "10.5.0.2/24"}, args: apiServerArgs,
			want: []string{
				"--advertise-address=10.5.0.2", "--service-cluster-ip-range=10.96.0.0/12",
				"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
				"--etcd-servers=https://127.0.0.1:2379", "--authorization-mode=Node,RBAC",
				"--enable-bootstrap-token-auth=true", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
				"--encryption-provider-config=/system/secrets/kubernetes/encryption-config.yaml",
				"--requestheader-allowed-names=front-proxy-client", "--secure-port=6443",
			},
			notWant: []string{"--endpoint-reconciler-type"},
		},
		{
			name: "apiserver extra args override and add",
			cluster: func() *v1alpha1.Cluster {
				c := base()
				c.APIServer = &v1alpha1.APIServer{ExtraArgs: map[string]string{
					"authorization-mode": "Node,RBAC,Webhook", "audit-log-path": "-", "feature-gates": "A=true",
				}}
				c.Network = &v1alpha1.ClusterNetwork{DNSDomain: "corp", ServiceSubnets: []string{"10.96.0.0/12", "fd00:96::/112"}}

				return c
			},
			addresses: []string{"10.5.0.2/24"}, args: apiServerArgs,
			want: []string{
				"--authorization-mode=Node,RBAC,Webhook", "--audit-log-path=-", "--feature-gates=A=true",
				"--service-cluster-ip-range=10.96.0.0/12,fd00:96::/112",
				"--service-account-issuer=https://kubernetes.default.svc.corp",
			},
			notWant: []string{"--authorization-mode=Node,RBAC\x00"},
		},
		{
			name: "apiserver on loopback", cluster: base, addresses: []string{"127.0.0.1/8"}, args: apiServerArgs,
			want: []string{"--endpoint-reconciler-type=none", "--advertise-address=127.0.0.1"},
		},
		{
			name: "controller-manager",
			cluster: func() *v1alpha1.Cluster {
				c := base()
				c.Network = &v1alpha1.ClusterNetwork{PodSubnets: []string{"10.200.0.0/16"}}
				c.ControllerManager = &v1alpha1.Component{ExtraArgs: map[string]string{"node-cidr-mask-size": "25"}}

				return c
			},
			addresses: []string{"10.5.0.2/24"}, args: controllerManagerArgs,
			want: []string{
				"--allocate-node-cidrs=true", "--cluster-cidr=10.200.0.0/16", "--cluster-name=demo",
				"--cluster-signing-cert-file=/system/secrets/kubernetes/ca.crt",
				"--cluster-signing-key-file=/system/secrets/kubernetes/ca.key",
				"--controllers=*,bootstrapsigner,tokencleaner", "--use-service-account-credentials=true",
				"--kubeconfig=/system/secrets/kubernetes/controller-manager.kubeconfig", "--node-cidr-mask-size=25",
			},
		},
		{
			name: "scheduler",
			cluster: func() *v1alpha1.Cluster {
				c := base()
				c.Scheduler = &v1alpha1.Component{ExtraArgs: map[string]string{"leader-elect": "false"}}

				return c
			},
			addresses: []string{"10.5.0.2/24"}, args: schedulerArgs,
			want:    []string{"--kubeconfig=/system/secrets/kubernetes/scheduler.kubeconfig", "--leader-elect=false"},
			notWant: []string{"--leader-elect=true"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := newControlPlaneInput(tt.cluster(), tt.addresses)
			if err != nil {
				t.Fatal(err)
			}

			args := tt.args(in)
			if args[0] != KubeProgram || !strings.HasPrefix(args[1], "kube-") {
				t.Errorf("program %v", args[:2])
			}

			for _, w := range tt.want {
				if !slices.Contains(args, w) {
					t.Errorf("missing %s in\n%s", w, strings.Join(args, "\n"))
				}
			}

			joined := strings.Join(args, "\x00") + "\x00"
			for _, nw := range tt.notWant {
				if strings.Contains(joined, nw) {
					t.Errorf("unexpected %q in\n%s", nw, strings.Join(args, "\n"))
				}
			}

			names := map[string]int{}
			for _, a := range args[2:] {
				name, _, _ := strings.Cut(a, "=")
				names[name]++

				if names[name] > 1 {
					t.Errorf("flag %s given twice", name)
				}
			}
		})
	}
}

func TestControlPlaneServices(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t, &PKIController{Root: root}, &etcd.PKIController{Root: root}, ControlPlaneController{})
	h.Start(t)

	ctest.SetConfig(t, h.State, cpConfig(t, v1alpha1.TypeControlPlane))
	cpSetNetwork(t, h.State, "cp1", "10.5.0.2/24")

	svc := func(id string) *rt.ServiceConfig {
		return ctest.Get[rt.ServiceConfigSpec](t, h.State, rt.NamespaceName, rt.ServiceConfigType, id)
	}

	ctest.Eventually(t, "certificates", func() bool { return cpResource(t, h) != nil })
	time.Sleep(20 * time.Millisecond)

	if svc(APIServerID) != nil {
		t.Fatal("kube-apiserver configured before etcd runs")
	}

	setEtcdPhase(t, h, resetcd.PhaseRunning)

	for _, id := range []string{APIServerID, ControllerManagerID, SchedulerID} {
		ctest.Eventually(t, id, func() bool { return svc(id) != nil })
	}

	api := svc(APIServerID).TypedSpec()
	if !slices.Equal(api.DependsOn, []string{etcd.ServiceID}) || api.HealthCheck.URL != APIServerReadyz ||
		api.HealthCheck.CertFile != AdminCertPath || !strings.HasPrefix(api.ConfigHash, cpResource(t, h).TypedSpec().Hash) {
		t.Errorf("kube-apiserver %+v", api)
	}

	if cm := svc(ControllerManagerID).TypedSpec(); !slices.Equal(cm.DependsOn, []string{APIServerID}) || !cm.HealthCheck.Insecure {
		t.Errorf("kube-controller-manager %+v", cm)
	}

	// A flapping etcd status keeps the services; a worker config removes them.
	setEtcdPhase(t, h, resetcd.PhaseStarting)
	time.Sleep(20 * time.Millisecond)

	if svc(APIServerID) == nil {
		t.Fatal("kube-apiserver removed while etcd restarts")
	}

	ctest.SetConfig(t, h.State, cpConfig(t, v1alpha1.TypeWorker))
	ctest.Eventually(t, "services removed", func() bool {
		return svc(APIServerID) == nil && svc(ControllerManagerID) == nil && svc(SchedulerID) == nil
	})
}

func setEtcdPhase(t *testing.T, h *ctest.Harness, phase string) {
	t.Helper()

	err := runtime.ModifyTyped(context.Background(), h.State, resetcd.NewStatus(), func(s *resetcd.Status) error {
		s.TypedSpec().Phase = phase

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
