package proxy

import "testing"

func TestNodeAddress(t *testing.T) {
	tests := []struct {
		in, addr, host string
		wantErr        bool
	}{
		{in: "10.5.0.2", addr: "10.5.0.2:50000", host: "10.5.0.2"},
		{in: "10.5.0.2:6000", addr: "10.5.0.2:6000", host: "10.5.0.2"},
		{in: "fd00::2", addr: "[fd00::2]:50000", host: "fd00::2"},
		{in: "[fd00::2]", addr: "[fd00::2]:50000", host: "fd00::2"},
		{in: "[fd00::2]:6000", addr: "[fd00::2]:6000", host: "fd00::2"},
		{in: "cp-1.example", addr: "cp-1.example:50000", host: "cp-1.example"},
		{in: "", wantErr: true},
		{in: ":50000", wantErr: true},
		{in: "10.5.0.2:0", wantErr: true},
		{in: "10.5.0.2:http", wantErr: true},
		{in: "host/path", wantErr: true},
		{in: "user@host", wantErr: true},
	}
	for _, tt := range tests {
		addr, host, err := NodeAddress(tt.in)
		if (err != nil) != tt.wantErr || addr != tt.addr || host != tt.host {
			t.Errorf("NodeAddress(%q) = %q, %q, %v; want %q, %q, error %v", tt.in, addr, host, err, tt.addr, tt.host, tt.wantErr)
		}
	}
}
