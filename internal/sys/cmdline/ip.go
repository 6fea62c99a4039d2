package cmdline

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IPMode is what an ip= argument asks for.
type IPMode string

// Modes of ip=.
const (
	// IPOff: no configuration ("ip=off", "ip=none").
	IPOff IPMode = "off"
	// IPStatic: the address, gateway and servers given.
	IPStatic IPMode = "static"
	// IPDHCP: DHCP on the device, or on every physical link.
	IPDHCP IPMode = "dhcp"
)

// IPConfig is the meaning of
//
//	ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>
//
// or of the short forms ip=dhcp (on, any, both, bootp, rarp) and ip=off
// (none). Empty fields are unset. Without a netmask the address's class
// decides it, as in the kernel. An address with an empty or "off"
// autoconf field is static; an empty address with an empty or DHCP-like
// autoconf field asks for DHCP.
type IPConfig struct {
	// Mode is off, static or dhcp.
	Mode IPMode
	// Address is the client address with its prefix (static only).
	Address netip.Prefix
	// Server is the boot server (unused by Plinth, kept for logs).
	Server netip.Addr
	// Gateway is the default gateway (static only).
	Gateway netip.Addr
	// Hostname is the node's name, possibly fully qualified.
	Hostname string
	// Device is the link to configure; empty means the first physical
	// link (static) or every physical link (dhcp).
	Device string
	// DNS are the name servers given.
	DNS []netip.Addr
	// NTP are the time servers given.
	NTP []netip.Addr
}

// ipFields is the number of colon-separated fields of ip=.
const ipFields = 10

// ParseIP parses the value of an ip= argument.
func ParseIP(v string) (IPConfig, error) {
	switch v {
	case "off", "none":
		return IPConfig{Mode: IPOff}, nil
	case "", "on", "any", "dhcp", "both", "bootp", "rarp":
		return IPConfig{Mode: IPDHCP}, nil
	}
	f := strings.Split(v, ":")
	if len(f) > ipFields {
		return IPConfig{}, fmt.Errorf("ip=%s: %d fields, expected at most %d", v, len(f), ipFields)
	}
	f = append(f, make([]string, ipFields-len(f))...)
	c := IPConfig{Hostname: f[4], Device: f[5]}
	var err error
	fail := func(what string, err error) (IPConfig, error) {
		return IPConfig{}, fmt.Errorf("ip=%s: %s: %w", v, what, err)
	}
	client, err := optAddr(f[0])
	if err != nil {
		return fail("client address", err)
	}
	if c.Server, err = optAddr(f[1]); err != nil {
		return fail("server address", err)
	}
	if c.Gateway, err = optAddr(f[2]); err != nil {
		return fail("gateway", err)
	}
	for i, s := range f[7:] {
		a, err := optAddr(s)
		if err != nil {
			return fail(fmt.Sprintf("field %d", 8+i), err)
		}
		if !a.IsValid() {
			continue
		}
		if i < 2 {
			c.DNS = append(c.DNS, a)
		} else {
			c.NTP = append(c.NTP, a)
		}
	}
	switch auto := f[6]; {
	case auto == "off" || auto == "none" || auto == "static" || (auto == "" && client.IsValid()):
		if !client.IsValid() {
			return IPConfig{Mode: IPOff, Hostname: c.Hostname, Device: c.Device}, nil
		}
		bits, err := prefixLen(f[3], client)
		if err != nil {
			return fail("netmask", err)
		}
		c.Mode, c.Address = IPStatic, netip.PrefixFrom(client, bits)
	case auto == "" || auto == "on" || auto == "any" || auto == "dhcp" || auto == "both" || auto == "bootp" || auto == "rarp":
		c.Mode = IPDHCP
	default:
		return IPConfig{}, fmt.Errorf("ip=%s: unknown autoconf %q: expected off, none, dhcp, on or any", v, auto)
	}
	return c, nil
}

func optAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("parse address: %w", err)
	}
	if !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%s is not an IPv4 address", s)
	}
	return a, nil
}

// prefixLen reads a dotted netmask or a prefix length; empty derives it
// from the address's class.
func prefixLen(mask string, client netip.Addr) (int, error) {
	if mask == "" {
		switch first := client.As4()[0]; {
		case first < 128:
			return 8, nil
		case first < 192:
			return 16, nil
		default:
			return 24, nil
		}
	}
	if n, err := strconv.Atoi(mask); err == nil {
		if n < 0 || n > 32 {
			return 0, fmt.Errorf("prefix length %d out of range", n)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return 0, fmt.Errorf("%q is neither a dotted netmask nor a prefix length", mask)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&(1<<31) != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("%s is not a contiguous netmask", mask)
	}
	return ones, nil
}
