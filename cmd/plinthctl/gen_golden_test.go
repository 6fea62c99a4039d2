package main

import (
	"os"
	"testing"
	"testing/cryptotest"
	"time"
)

// fixGenInputs makes gen deterministic: a fixed random stream and clock.
func fixGenInputs(t *testing.T) {
	t.Helper()
	cryptotest.SetGlobalRandom(t, 1)
	saved := genClock
	genClock = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { genClock = saved })
}

// TestGenGolden pins the format of the files gen writes, the secrets bundle
// above all, which users keep for the life of a cluster.
func TestGenGolden(t *testing.T) {
	tests := []struct {
		name  string
		setup [][]string
		args  []string
		files []string
	}{
		{name: "secrets", args: []string{"gen", "secrets"}, files: []string{"secrets.yaml"}},
		{name: "ca", args: []string{"gen", "ca", "--organization", "golden", "--ed25519"}, files: []string{"golden.crt", "golden.key"}},
		{
			name:  "csr",
			setup: [][]string{{"gen", "ca", "--organization", "os", "--ed25519"}, {"gen", "key", "--name", "bob", "--ed25519"}},
			args:  []string{"gen", "csr", "--key", "bob.key", "--roles", "os:reader", "--ip", "10.5.0.9"},
			files: []string{"bob.csr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Run in a temporary directory, then compare back in the
			// package directory, where testdata is.
			got := map[string][]byte{}
			t.Run("run", func(t *testing.T) {
				inTempDir(t)
				fixGenInputs(t)
				for _, args := range tt.setup {
					mustRun(t, args...)
				}
				got[tt.name+".out"] = []byte(mustRun(t, tt.args...))
				for _, f := range tt.files {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					got[tt.name+"-"+f] = data
				}
			})
			for name, data := range got {
				golden(t, "gen/"+name, data)
			}
		})
	}
}
