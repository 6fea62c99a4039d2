package ntp_test

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/sys/ntp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		offset time.Duration
		first  bool
		want   ntp.Adjustment
	}{
		{time.Millisecond, true, ntp.Step},
		{time.Millisecond, false, ntp.Slew},
		{-499 * time.Millisecond, false, ntp.Slew},
		{500 * time.Millisecond, false, ntp.Step},
		{-2 * time.Second, false, ntp.Step},
		{0, false, ntp.Slew},
	} {
		if got := ntp.Decide(tt.offset, tt.first); got != tt.want {
			t.Errorf("Decide(%v, first %v) = %s, want %s", tt.offset, tt.first, got, tt.want)
		}
	}
}

// serveNTP answers one query on loopback with the server's clock set
// ahead by skew.
func serveNTP(t *testing.T, skew time.Duration) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 48)
		for {
			n, peer, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			now := time.Now().Add(skew)
			resp := make([]byte, 48)
			resp[0] = 0<<6 | 4<<3 | 4 // no leap warning, version 4, server
			resp[1] = 2               // stratum
			copy(resp[24:32], buf[40:48])
			putTime(resp[16:24], now.Add(-time.Minute)) // reference
			putTime(resp[32:40], now)                   // receive
			putTime(resp[40:48], now)                   // transmit
			_, _ = conn.WriteTo(resp, peer)
		}
	}()
	return conn.LocalAddr().String()
}

func putTime(b []byte, t time.Time) {
	const epoch = 2208988800 // 1900 to 1970
	secs := uint64(t.Unix() + epoch)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint64(b, secs<<32|frac)
}

func TestQuery(t *testing.T) {
	addr := serveNTP(t, 3*time.Second)
	resp, err := ntp.Query(context.Background(), addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Offset < 2900*time.Millisecond || resp.Offset > 3100*time.Millisecond || resp.Stratum != 2 {
		t.Fatalf("response %+v, want an offset of about 3s", resp)
	}
}

func TestQueryCancelled(t *testing.T) {
	// A server that never answers: cancelling ends the query at once.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := ntp.Query(ctx, conn.LocalAddr().String(), time.Minute); err == nil {
		t.Fatal("a query without answer succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled query took %v", d)
	}
}
