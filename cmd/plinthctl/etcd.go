package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newEtcdCmd) }

func newEtcdCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Manage the etcd members of control planes",
		Long: `Inspect and manage the etcd cluster through the control planes' members:
list the members, show each member's status, save a snapshot, defragment,
remove the member of a node that is gone, or make a node leave.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEtcdMembersCmd(g), newEtcdStatusCmd(g), newEtcdSnapshotCmd(g),
		newEtcdRemoveMemberCmd(g), newEtcdLeaveCmd(g), newEtcdDefragCmd(g))
	return cmd
}

// memberID renders an etcd member id as etcdctl does: hex.
func memberID(id uint64) string { return strconv.FormatUint(id, 16) }

func newEtcdMembersCmd(g *globalFlags) *cobra.Command {
	var local bool
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the etcd cluster's members, as the endpoint's (or each -n node's) member sees them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			ctx, multi := controlPlaneCall(cmd.Context(), g, nc)
			resp, err := nc.c.Machine.EtcdMemberList(ctx, &machine.EtcdMemberListRequest{QueryLocal: local})
			if err != nil {
				return controlPlaneError(g, nc, "etcd members", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, multi, "NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER")
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				for _, m := range item.GetMembers() {
					writeRow(w, multi, nc.name(item.GetMetadata()), memberID(m.GetId()), orDash(m.GetHostname()),
						strings.Join(m.GetPeerUrls(), ","), orDash(strings.Join(m.GetClientUrls(), ",")), strconv.FormatBool(m.GetIsLearner()))
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
	cmd.Flags().BoolVar(&local, "local", false, "answer from the local member without a quorum read")
	return cmd
}

func newEtcdStatusCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the status of the endpoint's (or each -n node's) etcd member",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			ctx, multi := controlPlaneCall(cmd.Context(), g, nc)
			resp, err := nc.c.Machine.EtcdStatus(ctx, &emptypb.Empty{})
			if err != nil {
				return controlPlaneError(g, nc, "etcd status", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, multi, "NODE", "MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM", "RAFT APPLIED INDEX", "LEARNER", "ERRORS")
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				s := item.GetMemberStatus()
				inUse := "-"
				if s.GetDbSize() > 0 {
					inUse = fmt.Sprintf("%s (%.0f%%)", humanBytes(uint64(s.GetDbSizeInUse())), 100*float64(s.GetDbSizeInUse())/float64(s.GetDbSize()))
				}
				writeRow(w, multi, nc.name(item.GetMetadata()), memberID(s.GetMemberId()), humanBytes(uint64(s.GetDbSize())), inUse,
					memberID(s.GetLeader()), strconv.FormatUint(s.GetRaftIndex(), 10), strconv.FormatUint(s.GetRaftTerm(), 10),
					strconv.FormatUint(s.GetRaftAppliedIndex(), 10), strconv.FormatBool(s.GetIsLearner()), orDash(strings.Join(s.GetErrors(), "; ")))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
}

// bboltMagic is the magic number of a bbolt database's meta page, which
// an etcd snapshot is.
const bboltMagic = 0xED0CDAED

// bboltMagicOffset is where the magic is: after the 16-byte page header.
const bboltMagicOffset = 16

// isBbolt reports whether data starts with a bbolt meta page.
func isBbolt(head []byte) bool {
	return len(head) >= bboltMagicOffset+4 && binary.LittleEndian.Uint32(head[bboltMagicOffset:]) == bboltMagic
}

func newEtcdSnapshotCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot FILE",
		Short: "Save a snapshot of the etcd database to FILE",
		Long: `Stream a point-in-time snapshot of the etcd database from one control plane
into FILE (written as FILE.part, checked to be a bbolt database and then
renamed). The snapshot holds every Kubernetes Secret: keep it safe.`,
		Example: `  plinthctl etcd snapshot db.snapshot -n 10.5.0.2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := controlPlaneTarget(g, nc, "etcd snapshot")
			if err != nil {
				return err
			}
			n, err := saveSnapshot(cmd, nc, node, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "etcd snapshot of %s saved to %s (%s)\n", targetName(nc, node), args[0], humanBytes(uint64(n)))
			return nil
		},
	}
}

// saveSnapshot streams node's snapshot into path, atomically.
func saveSnapshot(cmd *cobra.Command, nc *nodeConn, node, path string) (n int64, err error) {
	name := targetName(nc, node)
	stream, err := nc.c.Machine.EtcdSnapshot(nc.one(cmd.Context(), node), &machine.EtcdSnapshotRequest{})
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot of %s: %w", name, apiError{err})
	}
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(part)
		}
	}()
	var head bytes.Buffer
	err = recvAll(stream.Recv, func(d *common.Data) error {
		if msg := d.GetMetadata().GetError(); msg != "" {
			return errors.New(msg)
		}
		if head.Len() < 64 {
			head.Write(d.GetBytes()[:min(len(d.GetBytes()), 64)])
		}
		w, err := f.Write(d.GetBytes())
		n += int64(w)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot of %s: %w", name, apiError{err})
	}
	if !isBbolt(head.Bytes()) {
		return 0, fmt.Errorf("etcd snapshot of %s: the %s received are not a bbolt database", name, humanBytes(uint64(n)))
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	if err := os.Rename(part, path); err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	return n, nil
}

func newEtcdRemoveMemberCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-member ID",
		Short: "Remove the etcd member of a node that is gone",
		Long: `Remove a member (its hex ID, as "plinthctl etcd members" shows it) from the
etcd cluster through one control plane. A node that still runs leaves
with "plinthctl etcd leave" instead.`,
		Example: `  plinthctl etcd remove-member 8e9e05c52164694d -n 10.5.0.2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(args[0]), "0x"), 16, 64)
			if err != nil || id == 0 {
				return fmt.Errorf("member ID %q: expected a hex member ID as plinthctl etcd members shows it", args[0])
			}
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := controlPlaneTarget(g, nc, "etcd remove-member")
			if err != nil {
				return err
			}
			resp, err := nc.c.Machine.EtcdRemoveMember(nc.one(cmd.Context(), node), &machine.EtcdRemoveMemberRequest{MemberId: id})
			if err := oneNodeError(err, metadataOf(resp.GetMessages())); err != nil {
				return fmt.Errorf("etcd remove-member %s through %s: %w", memberID(id), targetName(nc, node), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed etcd member %s\n", memberID(id))
			return nil
		},
	}
}

func newEtcdLeaveCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Remove a control plane's own member from the etcd cluster",
		Long: `Make one control plane's etcd member leave the cluster and stop its etcd
service. The last member refuses to leave.`,
		Example: `  plinthctl etcd leave -n 10.5.0.4`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := controlPlaneTarget(g, nc, "etcd leave")
			if err != nil {
				return err
			}
			resp, err := nc.c.Machine.EtcdLeaveCluster(nc.one(cmd.Context(), node), &machine.EtcdLeaveClusterRequest{})
			if err := oneNodeError(err, metadataOf(resp.GetMessages())); err != nil {
				return fmt.Errorf("etcd leave of %s: %w", targetName(nc, node), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s left the etcd cluster\n", targetName(nc, node))
			return nil
		},
	}
}

func newEtcdDefragCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "defrag",
		Short: "Defragment the endpoint's (or each -n node's) etcd member",
		Long: `Defragment the database of each node's etcd member, releasing the space
deleted keys left. A member blocks while it is defragmented: do one node at
a time on a busy cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			fails := &failures{out: cmd.ErrOrStderr()}
			targets := nc.targets()
			if len(g.Nodes) == 0 {
				targets = []string{""} // the endpoint: a control plane
			}
			for _, node := range targets {
				resp, err := nc.c.Machine.EtcdDefragment(nc.one(cmd.Context(), node), &emptypb.Empty{})
				if err := oneNodeError(err, metadataOf(resp.GetMessages())); err != nil {
					fails.failed(targetName(nc, node), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "defragmented the etcd member of %s\n", targetName(nc, node))
			}
			return fails.err()
		},
	}
}

// oneNodeError is the error of a call to one node: the call's, or the
// error its answer carries.
func oneNodeError(err error, mds []*common.Metadata) error {
	if err != nil {
		return apiError{err}
	}
	for _, md := range mds {
		if msg := md.GetError(); msg != "" {
			return errors.New(msg)
		}
	}
	return nil
}

// orDash renders an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
