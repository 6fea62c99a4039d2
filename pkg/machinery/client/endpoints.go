package client

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// normalizeEndpoints turns hosts and host:port pairs into host:port pairs,
// adding constants.ApidPort where no port is given. IPv6 addresses may be
// bare ("fd00::2") or bracketed ("[fd00::2]" or "[fd00::2]:50000").
func normalizeEndpoints(endpoints []string) ([]string, error) {
	if len(endpoints) == 0 {
		return nil, errNoEndpoints
	}
	out := make([]string, 0, len(endpoints))
	for _, e := range endpoints {
		addr, err := normalizeEndpoint(e)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

func normalizeEndpoint(e string) (string, error) {
	e = strings.TrimSpace(e)
	bad := func(why string) error {
		return fmt.Errorf("endpoint %q: %s: expected a host or host:port", e, why)
	}
	switch {
	case e == "":
		return "", bad("empty")
	case strings.Contains(e, "://"):
		return "", bad("a URL")
	case strings.Count(e, ":") > 1 && !strings.HasPrefix(e, "["): // bare IPv6
		return net.JoinHostPort(e, strconv.Itoa(constants.ApidPort)), nil
	}
	host, port, err := net.SplitHostPort(e)
	if err != nil { // no port
		if strings.HasPrefix(e, "[") != strings.HasSuffix(e, "]") {
			return "", bad("malformed")
		}
		host = strings.TrimSuffix(strings.TrimPrefix(e, "["), "]")
		if host == "" || strings.ContainsAny(host, "[]") {
			return "", bad("malformed")
		}
		return net.JoinHostPort(host, strconv.Itoa(constants.ApidPort)), nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", bad("port must be 1-65535")
	}
	if host == "" {
		return "", bad("empty host")
	}
	return net.JoinHostPort(host, port), nil
}

// hostOf returns the host of a host:port pair.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
