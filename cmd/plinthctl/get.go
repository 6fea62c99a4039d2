package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	resourceapi "github.com/plinth-os/plinth/api/resource"
)

func init() { registerCommand(newGetCmd) }

// getFlags are the flags of `plinthctl get`.
type getFlags struct {
	// Output is the format: table, yaml or json.
	Output string
	// Watch streams changes after the current state.
	Watch bool
	// Namespace overrides the type's default namespace.
	Namespace string
	// Selector filters by labels ("a=b,c!=d,e,!f"); lists only.
	Selector string
}

func newGetCmd(g *globalFlags) *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get TYPE [ID]",
		Short: "Show resources of the nodes",
		Long: `Show the resources of a type (a full type name, its first part or an alias,
singular or plural), or one of them by ID. "plinthctl get rd" lists the
resource definitions, that is every type there is. With -w, the current
resources are followed by every change (created, updated, destroyed) until
interrupted.`,
		Example: `  plinthctl get rd
  plinthctl get machinestatus -n 10.5.0.2,10.5.0.3
  plinthctl get services -o yaml
  plinthctl get hostname -w`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			return f.run(cmd, g, args[0], id)
		},
	}
	cmd.Flags().StringVarP(&f.Output, "output", "o", "table", "output format: table, yaml or json")
	cmd.Flags().BoolVarP(&f.Watch, "watch", "w", false, "follow changes after the current state")
	cmd.Flags().StringVar(&f.Namespace, "namespace", "", "namespace (default: the type's)")
	cmd.Flags().StringVarP(&f.Selector, "selector", "l", "", `label selector, e.g. "a=b,c!=d"`)
	return cmd
}

func (f *getFlags) run(cmd *cobra.Command, g *globalFlags, typ, id string) error {
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	p, err := newResourcePrinter(f.Output, cmd.OutOrStdout(), nc.multi(), f.Watch)
	if err != nil {
		return err
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	switch {
	case f.Watch:
		err = f.watch(cmd, nc, p, fails, typ, id)
	case id != "":
		err = f.getOne(cmd, nc, p, fails, typ, id)
	default:
		err = f.list(cmd, nc, p, fails, typ)
	}
	if err != nil {
		return err
	}
	if err := p.flush(); err != nil {
		return err
	}
	if p.count() == 0 && fails.count == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "no %s found\n", describeQuery(typ, id, f.Namespace))
	}
	return fails.err()
}

func (f *getFlags) getOne(cmd *cobra.Command, nc *nodeConn, p resourcePrinter, fails *failures, typ, id string) error {
	if f.Selector != "" {
		return fmt.Errorf("--selector filters lists: drop the ID %q or the selector", id)
	}
	req := &resourceapi.GetRequest{Namespace: f.Namespace, Type: typ, Id: id}
	resp, err := nc.c.Resources.Get(nc.fanOut(cmd.Context()), req)
	if err != nil {
		return nc.callError("get "+typ+" "+id, err)
	}
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		if err := p.add(nc.name(item.GetMetadata()), "", item.GetDefinition(), item.GetResource()); err != nil {
			return err
		}
	}
	return nil
}

func (f *getFlags) list(cmd *cobra.Command, nc *nodeConn, p resourcePrinter, fails *failures, typ string) error {
	req := &resourceapi.ListRequest{Namespace: f.Namespace, Type: typ, LabelSelector: f.Selector}
	stream, err := nc.c.Resources.List(nc.fanOut(cmd.Context()), req)
	if err != nil {
		return nc.callError("list "+typ, err)
	}
	err = recvAll(stream.Recv, func(item *resourceapi.ListResponse) error {
		if fails.check(nc, item.GetMetadata()) || item.GetResource() == nil {
			return nil
		}
		return p.add(nc.name(item.GetMetadata()), "", item.GetDefinition(), item.GetResource())
	})
	if err != nil {
		return nc.callError("list "+typ, err)
	}
	return nil
}

func (f *getFlags) watch(cmd *cobra.Command, nc *nodeConn, p resourcePrinter, fails *failures, typ, id string) error {
	if f.Selector != "" {
		return fmt.Errorf("--selector does not apply to --watch")
	}
	req := &resourceapi.WatchRequest{Namespace: f.Namespace, Type: typ, Id: id, Bootstrap: true}
	stream, err := nc.c.Resources.Watch(nc.fanOut(cmd.Context()), req)
	if err != nil {
		return nc.callError("watch "+typ, err)
	}
	err = recvAll(stream.Recv, func(ev *resourceapi.WatchResponse) error {
		if fails.check(nc, ev.GetMetadata()) {
			return nil
		}
		if ev.GetEventType() == resourceapi.EventType_BOOTSTRAPPED || ev.GetResource() == nil {
			return p.flush() // the current state is complete
		}
		if err := p.add(nc.name(ev.GetMetadata()), eventName(ev.GetEventType()), ev.GetDefinition(), ev.GetResource()); err != nil {
			return err
		}
		if ev.GetEventType() != resourceapi.EventType_CREATED {
			return p.flush()
		}
		return nil
	})
	if err != nil && cmd.Context().Err() == nil {
		return nc.callError("watch "+typ, err)
	}
	return nil
}

// eventName is the EVENT column of a watch event.
func eventName(t resourceapi.EventType) string { return strings.ToLower(t.String()) }

// describeQuery names what was asked for, for "no ... found".
func describeQuery(typ, id, namespace string) string {
	s := typ
	if id != "" {
		s += " " + id
	}
	if namespace != "" {
		s += " in namespace " + namespace
	}
	return s
}

// resourcePrinter writes resources in one output format.
type resourcePrinter interface {
	// add prints (or buffers) one resource of node; event is set when watching.
	add(node, event string, def *resourceapi.Definition, r *resourceapi.Resource) error
	// flush writes what is buffered.
	flush() error
	// count is the number of resources added.
	count() int
}

// newResourcePrinter returns the printer of format.
func newResourcePrinter(format string, out io.Writer, withNode, withEvent bool) (resourcePrinter, error) {
	switch format {
	case "table":
		t := &streamTable{out: out}
		if withEvent { // room for the widest event, "destroyed"
			col := 0
			if withNode {
				col = 1
			}
			t.widths = make([]int, col+1)
			t.widths[col] = len("destroyed")
		}
		return &tablePrinter{w: t, withNode: withNode, withEvent: withEvent}, nil
	case "yaml":
		return &docPrinter{out: out, yaml: true, withNode: withNode}, nil
	case "json":
		return &docPrinter{out: out, withNode: withNode}, nil
	}
	return nil, fmt.Errorf("-o %q: expected table, yaml or json", format)
}
