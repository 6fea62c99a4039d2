package k8s

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// PodEgressTable names the nftables tables (ip and ip6) of the pod-egress
// masquerade.
const PodEgressTable = "plinth-pod-egress"

// NFTMasquerader installs the pod-egress masquerade as nftables rules
// over netlink (no nft program on the node): per family a table
// PodEgressTable with a nat postrouting chain that masquerades traffic from
// a pod subnet to any address outside it, multicast excepted. Each Apply
// replaces the tables in one transaction.
type NFTMasquerader struct {
	// NetNSFd, when not zero, is the network namespace to act in (tests);
	// zero is machined's own, the node's.
	NetNSFd int
}

func (m NFTMasquerader) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if m.NetNSFd != 0 {
		opts = append(opts, nftables.WithNetNSFd(m.NetNSFd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// Apply implements PodMasquerader.
func (m NFTMasquerader) Apply(subnets []netip.Prefix) error {
	c, err := m.conn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if err := queueDelete(c, fam); err != nil {
			return err
		}
		var mine []netip.Prefix
		for _, p := range subnets {
			if p.Addr().Is4() == (fam == nftables.TableFamilyIPv4) {
				mine = append(mine, p.Masked())
			}
		}
		if len(mine) == 0 {
			continue
		}
		t := c.AddTable(&nftables.Table{Family: fam, Name: PodEgressTable})
		ch := c.AddChain(&nftables.Chain{
			Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
		})
		for _, p := range mine {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: masqueradeExprs(p)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: pod egress masquerade: %w", err)
	}
	return nil
}

// Remove implements PodMasquerader.
func (m NFTMasquerader) Remove() error {
	c, err := m.conn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if err := queueDelete(c, fam); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: remove pod egress masquerade: %w", err)
	}
	return nil
}

// queueDelete queues the deletion of the family's table when it exists.
func queueDelete(c *nftables.Conn, fam nftables.TableFamily) error {
	tables, err := c.ListTablesOfFamily(fam)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == PodEgressTable {
			c.DelTable(t)
		}
	}
	return nil
}

// masqueradeExprs is `saddr in p, daddr not in p, daddr not multicast:
// masquerade` for p's family.
func masqueradeExprs(p netip.Prefix) []expr.Any {
	src, dst, size := uint32(12), uint32(16), uint32(4) // IPv4 header offsets
	multicast := netip.MustParsePrefix("224.0.0.0/4")
	if p.Addr().Is6() {
		src, dst, size = 8, 24, 16
		multicast = netip.MustParsePrefix("ff00::/8")
	}
	match := func(offset uint32, q netip.Prefix, op expr.CmpOp) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: prefixMask(q), Xor: make([]byte, size)},
			&expr.Cmp{Op: op, Register: 1, Data: q.Masked().Addr().AsSlice()},
		}
	}
	out := match(src, p, expr.CmpOpEq)
	out = append(out, match(dst, p, expr.CmpOpNeq)...)
	out = append(out, match(dst, multicast, expr.CmpOpNeq)...)
	return append(out, &expr.Masq{})
}

// prefixMask is the network mask of p as bytes.
func prefixMask(p netip.Prefix) []byte {
	n := p.Addr().BitLen() / 8
	mask := make([]byte, n)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return mask
}
