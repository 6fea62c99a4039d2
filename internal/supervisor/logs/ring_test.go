package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRingTail(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []string
		n      int
		want   string
	}{
		{"empty", 64, nil, 3, ""},
		{"zero lines", 64, []string{"a\nb\n"}, 0, ""},
		{"fewer lines than asked", 64, []string{"a\nb\n"}, 5, "a\nb\n"},
		{"last two", 64, []string{"a\nb\nc\n"}, 2, "b\nc\n"},
		{"partial last line counts", 64, []string{"a\nb\nc"}, 2, "b\nc"},
		{"all", 64, []string{"a\n", "b\n"}, -1, "a\nb\n"},
		{"split writes", 64, []string{"he", "llo\nwor", "ld\n"}, 1, "world\n"},
		{"wrapped drops partial oldest line", 8, []string{"111\n222\n333\n"}, -1, "333\n"},
		{"wrapped tail within ring", 10, []string{"aaaa\nbb\ncc\n"}, 2, "bb\ncc\n"},
		{"wrapped asks too many", 10, []string{"aaaa\nbb\ncc\n"}, 9, "bb\ncc\n"},
		{"write larger than ring", 4, []string{"abcdefgh\n"}, 1, "fgh\n"},
		{"one long line kept whole when nothing else", 4, []string{"abcdefgh"}, 1, "efgh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(tt.size)
			for _, w := range tt.writes {
				if n, err := r.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := string(r.Tail(tt.n)); got != tt.want {
				t.Errorf("Tail(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestRingWrapManyWrites(t *testing.T) {
	r := NewRing(100)
	for i := range 1000 {
		fmt.Fprintf(r, "line %04d\n", i)
	}
	want := "line 0997\nline 0998\nline 0999\n"
	if got := string(r.Tail(3)); got != want {
		t.Fatalf("Tail(3) = %q, want %q", got, want)
	}
	all := string(r.Tail(-1))
	if len(all) > 100 || !strings.HasPrefix(all, "line ") || !strings.HasSuffix(all, want) {
		t.Fatalf("Tail(-1) = %q: want whole lines ending with the newest", all)
	}
}

func TestFollowSeesTailThenNewLines(t *testing.T) {
	r := NewRing(1024)
	fmt.Fprint(r, "old1\nold2\nold3\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc := bufio.NewScanner(r.Follow(ctx, 2))

	go func() {
		for i := range 3 {
			fmt.Fprintf(r, "new%d\n", i)
		}
	}()
	var got []string
	for len(got) < 5 && sc.Scan() {
		got = append(got, sc.Text())
	}
	want := []string{"old2", "old3", "new0", "new1", "new2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("followed %q, want %q", got, want)
	}
}

func TestFollowEndsOnCancel(t *testing.T) {
	r := NewRing(64)
	ctx, cancel := context.WithCancel(context.Background())
	rd := r.Follow(ctx, 0)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(rd)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ReadAll after cancel: %v, want nil (io.EOF)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follower did not end after cancel")
	}
}

func TestFollowEndsOnCloseAfterDrain(t *testing.T) {
	r := NewRing(64)
	rd := r.Follow(context.Background(), 0)
	fmt.Fprint(r, "last words\n")
	_ = r.Close()
	fmt.Fprint(r, "discarded\n")
	b, err := io.ReadAll(rd)
	if err != nil || string(b) != "last words\n" {
		t.Fatalf("ReadAll = %q, %v; want the line written before Close", b, err)
	}
}

func TestFollowerFallingBehindSkipsAhead(t *testing.T) {
	r := NewRing(16)
	rd := r.Follow(context.Background(), 0)
	fmt.Fprint(r, "0123456789abcdefXYZ")
	buf := make([]byte, 64)
	n, err := rd.Read(buf)
	if err != nil || string(buf[:n]) != "3456789abcdefXYZ" {
		t.Fatalf("Read = %q, %v; want the 16 newest bytes", buf[:n], err)
	}
}

func BenchmarkLogRingWrite(b *testing.B) {
	r := NewRing(DefaultSize)
	line := []byte(strings.Repeat("x", 119) + "\n")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Write(line)
	}
}
