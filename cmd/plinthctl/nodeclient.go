package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/pkg/machinery/client"
)

// nowFunc is the clock of relative times ("5m ago") and of wait durations;
// tests pin it.
var nowFunc = time.Now

// nodeConn is a connected client and the nodes a command targets (none:
// the endpoint itself).
type nodeConn struct {
	c     *client.Client
	nodes []string
}

// connect builds the client from the global flags (-e, -n, --context,
// --plinthconfig). Callers close it.
func connect(cmd *cobra.Command, g *globalFlags) (*nodeConn, error) {
	c, nodes, err := client.FromFlags(cmd.Context(), g.PlinthConfig, g.Context, g.Endpoints, g.Nodes)
	if err != nil {
		return nil, err
	}
	return &nodeConn{c: c, nodes: nodes}, nil
}

// close closes the connection; nothing useful can be done with its error.
func (n *nodeConn) close() { _ = n.c.Close() }

// fanOut returns ctx with every target node in the call's metadata.
func (n *nodeConn) fanOut(ctx context.Context) context.Context {
	if len(n.nodes) == 0 {
		return ctx
	}
	return client.WithNodes(ctx, n.nodes...)
}

// targets are the nodes to call one by one; "" is the endpoint itself.
func (n *nodeConn) targets() []string {
	if len(n.nodes) == 0 {
		return []string{""}
	}
	return n.nodes
}

// one returns ctx aimed at node ("" leaves the call to the endpoint).
func (n *nodeConn) one(ctx context.Context, node string) context.Context {
	return client.WithNode(ctx, node)
}

// single returns the only target node of commands that read from one node
// (read, copy, ...), or an error naming the nodes when there are several.
func (n *nodeConn) single(verb string) (string, error) {
	if len(n.nodes) > 1 {
		return "", fmt.Errorf("%s works on one node at a time, got %d (%s): choose one with -n", verb, len(n.nodes), strings.Join(n.nodes, ", "))
	}
	if len(n.nodes) == 1 {
		return n.nodes[0], nil
	}
	return "", nil
}

// multi reports whether output needs a NODE column.
func (n *nodeConn) multi() bool { return len(n.nodes) > 1 }

// name names the node of an item.
func (n *nodeConn) name(md *common.Metadata) string { return n.c.NodeName(md) }

// nameOf names a target node for messages ("" is the endpoint).
func (n *nodeConn) nameOf(node string) string {
	if node != "" {
		return node
	}
	return n.c.NodeName(nil)
}

// callError is a call that failed as a whole, naming where it went.
func (n *nodeConn) callError(what string, err error) error {
	endpoints := strings.Join(n.c.Endpoints(), ", ")
	if len(n.nodes) == 0 {
		return fmt.Errorf("%s on %s: %w", what, endpoints, apiError{err})
	}
	return fmt.Errorf("%s on %s (through %s): %w", what, strings.Join(n.nodes, ", "), endpoints, apiError{err})
}

// apiError words a gRPC error as "Code: message" instead of grpc-go's
// "rpc error: code = Code desc = message".
type apiError struct{ err error }

func (e apiError) Error() string {
	if s, ok := status.FromError(e.err); ok {
		return s.Code().String() + ": " + s.Message()
	}
	return e.err.Error()
}

func (e apiError) Unwrap() error { return e.err }

// failures prints the errors of failed nodes on stderr as they come and
// turns them into the command's error at the end.
type failures struct {
	out   io.Writer
	count int
}

// add prints "node X: error: ..." for each error.
func (f *failures) add(errs ...client.NodeError) {
	for _, e := range errs {
		fmt.Fprintf(f.out, "node %s: error: %s\n", e.Node, e.Message)
		f.count++
	}
}

// failed records one error of node.
func (f *failures) failed(node string, err error) {
	f.add(client.NodeError{Node: node, Message: err.Error()})
}

// check records the error an item carries; it reports whether there was one.
func (f *failures) check(n *nodeConn, md *common.Metadata) bool {
	if md.GetError() == "" {
		return false
	}
	f.add(client.NodeError{Node: n.name(md), Message: md.GetError()})
	return true
}

// err is nil when nothing failed.
func (f *failures) err() error {
	if f.count == 0 {
		return nil
	}
	return errNodesFailed{f.count}
}

// errNodesFailed is the error of a command some of whose nodes failed; the
// failures were printed already.
type errNodesFailed struct{ n int }

func (e errNodesFailed) Error() string { return plural(e.n, "node error") + " (see above)" }

// fanOutItems splits a fan-out answer, printing the errors.
func fanOutItems[T interface{ GetMetadata() *common.Metadata }](f *failures, msgs []T) []T {
	ok, errs := client.Items(msgs)
	f.add(errs...)
	return ok
}

// recvAll calls fn with every message of a stream until it ends; the
// stream's error (other than its end) is returned.
func recvAll[T any](recv func() (T, error), fn func(T) error) error {
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// newTable returns a writer aligning tab-separated cells; flush it.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 3, ' ', 0) }

// writeRow writes cells as one table row, led by node when withNode.
func writeRow(w io.Writer, withNode bool, node string, cells ...string) {
	if withNode {
		cells = append([]string{node}, cells...)
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// ago renders how long before now t was: "5m ago", or "-" when unset.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return shortDuration(nowFunc().Sub(t)) + " ago"
}

// shortDuration renders a duration with its two largest units: "42s",
// "5m", "5m30s", "3h12m", "4d6h".
func shortDuration(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	s := int64(d / time.Second)
	type unit struct {
		name string
		secs int64
	}
	units := []unit{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}
	for i, u := range units[:3] {
		if s >= u.secs {
			out := fmt.Sprintf("%d%s", s/u.secs, u.name)
			if rest := s % u.secs / units[i+1].secs; rest > 0 {
				out += fmt.Sprintf("%d%s", rest, units[i+1].name)
			}
			return out
		}
	}
	return fmt.Sprintf("%ds", s)
}

// tsTime converts a timestamp of the API; nil is the zero time.
func tsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// humanBytes renders a size in binary units: "512 B", "1.5 KiB", "12.0 MiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// lineWriter serializes whole writes from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// printf writes one formatted line.
func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// copyData writes a byte stream (logs, dmesg, files) to out. With
// prefixLines every line is led by its node's name, lines of different
// nodes never mixing; an unfinished last line is ended at the end. Items
// with an error are reported to fails.
func copyData(nc *nodeConn, recv func() (*common.Data, error), out io.Writer, fails *failures, prefixLines bool) error {
	partial := map[string][]byte{}
	var order []string
	err := recvAll(recv, func(d *common.Data) error {
		if fails.check(nc, d.GetMetadata()) {
			return nil
		}
		if !prefixLines {
			_, err := out.Write(d.GetBytes())
			return err
		}
		node := nc.name(d.GetMetadata())
		if _, seen := partial[node]; !seen {
			order = append(order, node)
		}
		buf := append(partial[node], d.GetBytes()...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			fmt.Fprintf(out, "%s: %s\n", node, buf[:i])
			buf = buf[i+1:]
		}
		partial[node] = buf
		return nil
	})
	for _, node := range order {
		if rest := partial[node]; len(rest) > 0 {
			fmt.Fprintf(out, "%s: %s\n", node, rest)
		}
	}
	return err
}
