package main

import (
	"testing"
	"time"
)

func TestShortDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                                     "0s",
		-time.Second:                          "0s",
		42*time.Second + 400*time.Millisecond: "42s",
		5 * time.Minute:                       "5m",
		5*time.Minute + 30*time.Second:        "5m30s",
		3*time.Hour + 12*time.Minute + 9*time.Second: "3h12m",
		2 * time.Hour:                "2h",
		4*24*time.Hour + 6*time.Hour: "4d6h",
	}
	for d, want := range tests {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	tests := map[uint64]string{
		0:         "0 B",
		1023:      "1023 B",
		1024:      "1.0 KiB",
		1536:      "1.5 KiB",
		310 << 20: "310.0 MiB",
		11 << 30:  "11.0 GiB",
		3 << 40:   "3.0 TiB",
	}
	for n, want := range tests {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestStripHeader(t *testing.T) {
	tests := map[string]string{
		"# a\n#\n\nversion: 1\n# kept\n": "version: 1\n# kept\n",
		"version: 1\n":                   "version: 1\n",
		"# only comments\n":              "",
		"  # indented\nkey: v":           "key: v",
	}
	for in, want := range tests {
		if got := string(stripHeader([]byte(in))); got != want {
			t.Errorf("stripHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct {
		ip   string
		port uint32
		want string
	}{
		{"10.5.0.2", 50000, "10.5.0.2:50000"},
		{"0.0.0.0", 0, "0.0.0.0:*"},
		{"fd00::2", 443, "[fd00::2]:443"},
	}
	for _, tt := range tests {
		if got := hostPort(tt.ip, tt.port); got != tt.want {
			t.Errorf("hostPort(%q, %d) = %q, want %q", tt.ip, tt.port, got, tt.want)
		}
	}
}
