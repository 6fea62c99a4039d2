package supervisor

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func depsOf(m map[string][]string) func(string) ([]string, bool) {
	return func(id string) ([]string, bool) {
		d, ok := m[id]
		return d, ok
	}
}

func TestStartOrder(t *testing.T) {
	graph := map[string][]string{
		"containerd": nil,
		"etcd":       {"containerd"},
		"apiserver":  {"etcd", "containerd"},
		"kubelet":    {"containerd"},
		"broken":     {"missing"},
		"a":          {"b"},
		"b":          {"c"},
		"c":          {"a"},
		"self":       {"self"},
	}
	tests := []struct {
		ids     []string
		want    string
		wantErr string
	}{
		{ids: []string{"apiserver"}, want: "[containerd etcd apiserver]"},
		{ids: []string{"kubelet", "apiserver"}, want: "[containerd kubelet etcd apiserver]"},
		{ids: []string{"etcd", "etcd"}, want: "[containerd etcd]"},
		{ids: []string{"nope"}, wantErr: `unknown service "nope"`},
		{ids: []string{"broken"}, wantErr: `service "broken" depends on unknown service "missing"`},
		{ids: []string{"a"}, wantErr: "dependency cycle: a -> b -> c -> a"},
		{ids: []string{"self"}, wantErr: "dependency cycle: self -> self"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.ids, ","), func(t *testing.T) {
			got, err := startOrder(tt.ids, depsOf(graph))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tt.want {
				t.Fatalf("startOrder = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestStopLevels(t *testing.T) {
	graph := map[string][]string{
		"containerd": nil,
		"etcd":       {"containerd"},
		"apiserver":  {"etcd"},
		"scheduler":  {"apiserver"},
		"kubelet":    {"containerd"},
		"x":          {"y"},
		"y":          {"x"},
	}
	deps := func(id string) []string { return graph[id] }
	tests := []struct {
		set     []string
		want    string
		wantErr bool
	}{
		{set: []string{"containerd", "etcd", "apiserver", "scheduler", "kubelet"},
			want: "[[kubelet scheduler] [apiserver] [etcd] [containerd]]"},
		{set: []string{"etcd", "containerd"}, want: "[[etcd] [containerd]]"},
		{set: []string{"kubelet", "etcd"}, want: "[[etcd kubelet]]"},
		{set: []string{"x", "y"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := stopLevels(tt.set, deps)
		if (err != nil) != tt.wantErr || (err == nil && fmt.Sprint(got) != tt.want) {
			t.Errorf("stopLevels(%v) = %v, %v; want %s", tt.set, got, err, tt.want)
		}
	}
}

func TestWithDependents(t *testing.T) {
	graph := map[string][]string{
		"etcd": nil, "apiserver": {"etcd"}, "scheduler": {"apiserver"}, "kubelet": nil,
	}
	deps := func(id string) []string { return graph[id] }
	tests := []struct {
		ids, started []string
		want         string
	}{
		{[]string{"etcd"}, []string{"etcd", "apiserver", "scheduler", "kubelet"}, "[apiserver etcd scheduler]"},
		{[]string{"etcd"}, []string{"etcd", "scheduler"}, "[etcd]"}, // apiserver not started: chain cut
		{[]string{"kubelet"}, []string{"etcd", "kubelet"}, "[kubelet]"},
	}
	for _, tt := range tests {
		if got := withDependents(tt.ids, tt.started, deps); fmt.Sprint(got) != tt.want {
			t.Errorf("withDependents(%v, %v) = %v, want %s", tt.ids, tt.started, got, tt.want)
		}
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"etcd": true, "kube-apiserver": true, "cri.v1_2": true,
		"": false, ".": false, "..": false, "a/b": false, "-x": false, "sp ace": false,
	} {
		if err := checkID(id); (err == nil) != ok {
			t.Errorf("checkID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	s := RestartSettings{InitialBackoff: 100 * ms, MaxBackoff: 500 * ms, ResetAfter: 10 * time.Second}
	tests := []struct {
		name  string
		upFor []time.Duration
		want  []time.Duration
	}{
		{"doubles up to max", []time.Duration{0, 0, 0, 0, 0},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms}},
		{"long run resets", []time.Duration{0, 0, 0, 11 * time.Second, 0},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 100 * ms, 200 * ms}},
		{"short runs do not reset", []time.Duration{9 * time.Second, 9 * time.Second},
			[]time.Duration{100 * ms, 200 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(s)
			for i, up := range tt.upFor {
				if got := b.delay(up); got != tt.want[i] {
					t.Fatalf("delay #%d = %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
	if got := newBackoff(RestartSettings{}).delay(0); got != DefaultInitialBackoff {
		t.Errorf("default first delay = %v, want %v", got, DefaultInitialBackoff)
	}
}

func TestRestartPolicy(t *testing.T) {
	failure := fmt.Errorf("exit status 1")
	tests := []struct {
		policy          RestartPolicy
		onOK, onFailure bool
	}{
		{RestartAlways, true, true},
		{RestartOnFailure, false, true},
		{RestartNever, false, false},
	}
	for _, tt := range tests {
		if got := tt.policy.shouldRestart(nil); got != tt.onOK {
			t.Errorf("%s after success = %v", tt.policy, got)
		}
		if got := tt.policy.shouldRestart(failure); got != tt.onFailure {
			t.Errorf("%s after failure = %v", tt.policy, got)
		}
	}
}
