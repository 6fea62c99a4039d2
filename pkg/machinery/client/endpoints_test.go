package client

import (
	"strings"
	"testing"
)

func TestNormalizeEndpoint(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "10.5.0.2", want: "10.5.0.2:50000"},
		{in: " 10.5.0.2:4000 ", want: "10.5.0.2:4000"},
		{in: "node-1.lab", want: "node-1.lab:50000"},
		{in: "fd00::2", want: "[fd00::2]:50000"},
		{in: "[fd00::2]", want: "[fd00::2]:50000"},
		{in: "[fd00::2]:4000", want: "[fd00::2]:4000"},
		{in: "", wantErr: "empty"},
		{in: "https://10.5.0.2", wantErr: "a URL"},
		{in: "10.5.0.2:0", wantErr: "port must be 1-65535"},
		{in: "10.5.0.2:http", wantErr: "port must be 1-65535"},
		{in: ":4000", wantErr: "empty host"},
		{in: "[fd00::2", wantErr: "malformed"},
	}
	for _, tt := range tests {
		got, err := normalizeEndpoint(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("normalizeEndpoint(%q) = %q, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeEndpoint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	sum, err := ParseFingerprint(strings.ToUpper(hex))
	if err != nil {
		t.Fatal(err)
	}
	colons := FormatFingerprint(sum)
	if len(colons) != 95 || !strings.HasPrefix(colons, "AB:AB:") {
		t.Errorf("FormatFingerprint = %q", colons)
	}
	back, err := ParseFingerprint(colons)
	if err != nil || string(back) != string(sum) {
		t.Errorf("ParseFingerprint(%q) = %x, %v", colons, back, err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) succeeded", bad)
		}
	}
}
