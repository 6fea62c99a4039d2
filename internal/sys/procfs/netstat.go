package procfs

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plinth-os/plinth/api/machine"
)

// tcpStates names the kernel's TCP states (include/net/tcp_states.h) as
// printed in the st column of /proc/net/tcp.
var tcpStates = map[uint64]string{
	0x01: "ESTABLISHED",
	0x02: "SYN_SENT",
	0x03: "SYN_RECV",
	0x04: "FIN_WAIT1",
	0x05: "FIN_WAIT2",
	0x06: "TIME_WAIT",
	0x07: "CLOSE",
	0x08: "CLOSE_WAIT",
	0x09: "LAST_ACK",
	0x0A: "LISTEN",
	0x0B: "CLOSING",
	0x0C: "NEW_SYN_RECV",
}

const (
	stateEstablished = 0x01
	stateClose       = 0x07
	stateListen      = 0x0A
)

// udpUnconnected is the state name of a UDP socket without a peer (the
// kernel's CLOSE), named as ss(8) does.
const udpUnconnected = "UNCONN"

// Netstat lists the sockets of <procRoot>/net/{tcp,tcp6,udp,udp6} that req
// selects, in that order and file order within each. The files describe the
// network namespace of the process reading procRoot. With req.Pid set, each
// record names the lowest pid holding the socket (found by scanning
// <procRoot>/*/fd); sockets no visible process holds keep pid 0.
//
// Addresses are decoded as the little-endian words the kernel prints on
// amd64 and arm64.
func Netstat(procRoot string, req *machine.NetstatRequest) ([]*machine.ConnectRecord, error) {
	var out []*machine.ConnectRecord
	for _, proto := range selectedProtocols(req) {
		path := filepath.Join(procRoot, "net", proto)
		records, err := readNetFile(path, proto)
		if errors.Is(err, fs.ErrNotExist) {
			continue // e.g. no IPv6 in this kernel
		}
		if err != nil {
			return nil, fmt.Errorf("netstat: %w", err)
		}
		for _, r := range records {
			if matchesFilter(r, req.GetFilter()) {
				out = append(out, r)
			}
		}
	}
	if req.GetPid() && len(out) > 0 {
		owners, err := socketOwners(procRoot)
		if err != nil {
			return nil, fmt.Errorf("netstat: %w", err)
		}
		for _, r := range out {
			if o, ok := owners[r.Inode]; ok {
				r.Pid, r.ProcessName = o.pid, o.comm
			}
		}
	}
	return out, nil
}

// selectedProtocols returns the files req asks for: all four when it sets none.
func selectedProtocols(req *machine.NetstatRequest) []string {
	var protos []string
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"tcp", req.GetTcp()}, {"tcp6", req.GetTcp6()}, {"udp", req.GetUdp()}, {"udp6", req.GetUdp6()},
	} {
		if p.set {
			protos = append(protos, p.name)
		}
	}
	if len(protos) == 0 {
		return []string{"tcp", "tcp6", "udp", "udp6"}
	}
	return protos
}

// isListening reports whether r waits for peers: a TCP socket in LISTEN, or
// a UDP socket with no remote address.
func isListening(r *machine.ConnectRecord) bool {
	if strings.HasPrefix(r.L4Proto, "tcp") {
		return r.State == tcpStates[stateListen]
	}
	remote, err := netip.ParseAddr(r.RemoteIp)
	return r.RemotePort == 0 && err == nil && remote.IsUnspecified()
}

func matchesFilter(r *machine.ConnectRecord, f machine.NetstatRequest_Filter) bool {
	switch f {
	case machine.NetstatRequest_LISTENING:
		return isListening(r)
	case machine.NetstatRequest_CONNECTED:
		return !isListening(r)
	default:
		return true
	}
}

func readNetFile(path, proto string) ([]*machine.ConnectRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	records, err := parseNetFile(f, proto)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return records, nil
}

// parseNetFile parses a /proc/net/{tcp,udp}[6] table after its header line.
func parseNetFile(r io.Reader, proto string) ([]*machine.ConnectRecord, error) {
	var out []*machine.ConnectRecord
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		if line == 1 || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		rec, err := parseNetLine(sc.Text(), proto)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Columns of a /proc/net/tcp line:
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
const (
	netLocal  = 1
	netRemote = 2
	netState  = 3
	netQueues = 4
	netInode  = 9
)

func parseNetLine(line, proto string) (*machine.ConnectRecord, error) {
	f := strings.Fields(line)
	if len(f) <= netInode {
		return nil, fmt.Errorf("%d columns, want at least %d", len(f), netInode+1)
	}
	rec := &machine.ConnectRecord{L4Proto: proto}
	var err error
	if rec.LocalIp, rec.LocalPort, err = parseSocketAddr(f[netLocal]); err != nil {
		return nil, fmt.Errorf("local address: %w", err)
	}
	if rec.RemoteIp, rec.RemotePort, err = parseSocketAddr(f[netRemote]); err != nil {
		return nil, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(f[netState], 16, 8)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	rec.State = stateName(proto, st)
	tx, rx, ok := strings.Cut(f[netQueues], ":")
	if !ok {
		return nil, fmt.Errorf("queues %q: want tx:rx", f[netQueues])
	}
	if rec.TxQueue, err = strconv.ParseUint(tx, 16, 64); err != nil {
		return nil, fmt.Errorf("tx queue: %w", err)
	}
	if rec.RxQueue, err = strconv.ParseUint(rx, 16, 64); err != nil {
		return nil, fmt.Errorf("rx queue: %w", err)
	}
	if rec.Inode, err = strconv.ParseUint(f[netInode], 10, 64); err != nil {
		return nil, fmt.Errorf("inode: %w", err)
	}
	return rec, nil
}

// stateName names a socket state: TCP states by the kernel's names; UDP
// sockets are ESTABLISHED when connected, else UNCONN.
func stateName(proto string, st uint64) string {
	if strings.HasPrefix(proto, "udp") {
		switch st {
		case stateClose:
			return udpUnconnected
		case stateEstablished:
			return tcpStates[stateEstablished]
		}
	}
	if name, ok := tcpStates[st]; ok {
		return name
	}
	return fmt.Sprintf("UNKNOWN(%#02x)", st)
}

// parseSocketAddr parses "0100007F:0035" (IPv4) or a 32-digit IPv6 address
// and a port. The address is a sequence of 32-bit words, each printed in
// host (little-endian) byte order; the port is printed big-endian.
func parseSocketAddr(s string) (string, uint32, error) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, fmt.Errorf("%q: want address:port", s)
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", 0, fmt.Errorf("%q: want 8 or 32 hex digits", addrHex)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", portHex, err)
	}
	return addr.String(), uint32(port), nil
}
