package procfs

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/machine"
)

func TestMemInfoFixture(t *testing.T) {
	got, err := MemInfo(fixtureProc)
	if err != nil {
		t.Fatal(err)
	}
	want := &machine.MemInfo{
		MemTotal:     24684084 * 1024,
		MemFree:      24061672 * 1024,
		MemAvailable: 24330388 * 1024,
		Buffers:      8872 * 1024,
		Cached:       441872 * 1024,
		SwapTotal:    2097148 * 1024,
		SwapFree:     2097000 * 1024,
		Shmem:        8872 * 1024,
	}
	if !proto.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestParseMemInfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *machine.MemInfo
		wantErr string
	}{
		{name: "bare number", in: "MemTotal: 42\n", want: &machine.MemInfo{MemTotal: 42}},
		{name: "unknown keys ignored", in: "Foo: bar baz qux\nMemTotal: 1 kB\n", want: &machine.MemInfo{MemTotal: 1024}},
		{name: "no MemTotal", in: "MemFree: 1 kB\n", wantErr: "no MemTotal"},
		{name: "bad number", in: "MemTotal: x kB\n", wantErr: "line 1 (MemTotal)"},
		{name: "bad unit", in: "MemTotal: 1 MB\n", wantErr: "unknown unit"},
		{name: "empty value", in: "MemTotal:\n", wantErr: "want"},
		{name: "overflow", in: "MemTotal: 18446744073709551615 kB\n", wantErr: "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMemInfo(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemInfoMissing(t *testing.T) {
	_, err := MemInfo(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "meminfo") {
		t.Errorf("err = %v, want a meminfo error", err)
	}
}
