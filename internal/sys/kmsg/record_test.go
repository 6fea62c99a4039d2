package kmsg

import (
	"bytes"
	"strings"
	"testing"
)

func TestFormatRecord(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{
			name: "kernel info",
			in:   "6,339,5140900,-;NET: Registered protocol family 10\n",
			want: "[    5.140900] kern.info: NET: Registered protocol family 10\n",
		},
		{
			name: "continuation lines dropped",
			in:   "3,340,12345678,-;sd 0:0:0:0: [sda] error\n SUBSYSTEM=scsi\n DEVICE=+scsi:0:0:0:0\n",
			want: "[   12.345678] kern.err: sd 0:0:0:0: [sda] error\n",
		},
		{
			name: "caller id field and continuation flag",
			in:   "4,341,0,c,caller=T1;early\n",
			want: "[    0.000000] kern.warn: early\n",
		},
		{
			name: "user facility",
			in:   "14,5,1000001,-;machined[1]: hello",
			want: "[    1.000001] user.info: machined[1]: hello\n",
		},
		{
			name: "daemon emerg, local7 debug and a long uptime",
			in:   "24,6,123456789012,-;x\n",
			want: "[123456.789012] daemon.emerg: x\n",
		},
		{name: "local7 debug", in: "191,1,1,-;d", want: "[    0.000001] local7.debug: d\n"},
		{name: "unnamed facility", in: "96,1,1,-;d", want: "[    0.000001] facility12.emerg: d\n"},
		{name: "facility beyond the table", in: "255,1,1,-;d", want: "[    0.000001] facility31.debug: d\n"},
		{name: "semicolon in message", in: "6,1,1,-;a;b\n", want: "[    0.000001] kern.info: a;b\n"},
		{name: "empty message", in: "6,1,1,-;\n", want: "[    0.000001] kern.info: \n"},
		{name: "no semicolon", in: "6,1,1,-\n", wantErr: "no ';'"},
		{name: "too few fields", in: "6,1,1;x", wantErr: "header has 3 fields"},
		{name: "bad priority", in: "x,1,1,-;m", wantErr: "priority"},
		{name: "negative priority", in: "-1,1,1,-;m", wantErr: "priority"},
		{name: "bad sequence", in: "6,s,1,-;m", wantErr: "sequence"},
		{name: "bad timestamp", in: "6,1,t,-;m", wantErr: "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FormatRecord([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseRecordFields(t *testing.T) {
	r, err := ParseRecord([]byte("30,77,2500000,-;systemd-ish: started\n KEY=v\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Facility: 3, Level: 6, Seq: 77, Micros: 2500000, Message: "systemd-ish: started"}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

func TestNames(t *testing.T) {
	if got := LevelName(9); got != "level9" {
		t.Errorf("LevelName(9) = %q", got)
	}
	if got := FacilityName(-1); got != "facility-1" {
		t.Errorf("FacilityName(-1) = %q", got)
	}
	if got := FacilityName(10); got != "authpriv" {
		t.Errorf("FacilityName(10) = %q", got)
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("6,339,5140900,-;NET: Registered protocol family 10\n"))
	f.Add([]byte("3,340,12345678,-;sd: error\n SUBSYSTEM=scsi\n"))
	f.Add([]byte("4,341,0,c,caller=T1;early"))
	f.Add([]byte(";;;,,,\n"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := ParseRecord(rec)
		if err != nil {
			return
		}
		if r.Level < 0 || r.Level > 7 || r.Facility < 0 {
			t.Fatalf("level %d facility %d out of range", r.Level, r.Facility)
		}
		line := Format(r)
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("Format(%q) = %q: want exactly one trailing newline", rec, line)
		}
		if !bytes.HasPrefix(line, []byte("[")) {
			t.Fatalf("Format(%q) = %q: want a [timestamp] prefix", rec, line)
		}
	})
}
