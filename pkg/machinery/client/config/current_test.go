package config

import (
	"strings"
	"testing"
)

func TestCurrent(t *testing.T) {
	two := func() *Config {
		return &Config{Context: "a", Contexts: map[string]*Context{
			"a": {Nodes: []string{"na"}},
			"b": {Nodes: []string{"nb"}},
		}}
	}
	noCurrent := two()
	noCurrent.Context = ""
	withPath := two()
	withPath.path = "/home/me/.plinth/config"
	resolved := two()
	resolved.override = "b"

	tests := []struct {
		name      string
		cfg       *Config
		override  string
		wantNode  string
		wantError string
	}{
		{name: "current", cfg: two(), wantNode: "na"},
		{name: "override", cfg: two(), override: "b", wantNode: "nb"},
		{name: "resolved --context", cfg: resolved, wantNode: "nb"},
		{name: "argument beats --context", cfg: resolved, override: "a", wantNode: "na"},
		{name: "unknown override", cfg: withPath, override: "x",
			wantError: `context "x" not found in /home/me/.plinth/config; known: a, b`},
		{name: "unknown current", cfg: &Config{Context: "gone", Contexts: map[string]*Context{}},
			wantError: `context "gone" not found in the client config; known: none`},
		{name: "no current", cfg: noCurrent,
			wantError: "no current context in the client config: choose one with `plinthctl config context NAME` or --context; known: a, b"},
		{name: "empty config", cfg: New(),
			wantError: "no contexts in the client config: create one with `plinthctl gen config` and `plinthctl config merge`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Current(tt.override)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Current() error = %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("Current() error = %v", err)
			}
			if got.Nodes[0] != tt.wantNode {
				t.Errorf("Current() nodes = %v, want %s", got.Nodes, tt.wantNode)
			}
		})
	}
}

func TestCurrentReturnsTheStoredContext(t *testing.T) {
	cfg := &Config{Context: "a", Contexts: map[string]*Context{"a": {}}}
	ctx, err := cfg.Current("")
	if err != nil {
		t.Fatal(err)
	}
	ctx.Endpoints = []string{"10.0.0.1"}
	if got := cfg.Contexts["a"].Endpoints; len(got) != 1 {
		t.Errorf("changing the current context did not change the config: %v", got)
	}
}
