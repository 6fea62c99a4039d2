package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newNetstatCmd) }

// netstatFlags are the flags of `plinthctl netstat`.
type netstatFlags struct {
	// Listening shows only listening sockets.
	Listening bool
	// All shows listening and connected sockets.
	All bool
	// TCP and UDP pick the protocols (both when neither is set).
	TCP, UDP bool
	// PID shows the process of each socket.
	PID bool
}

func newNetstatCmd(g *globalFlags) *cobra.Command {
	f := &netstatFlags{}
	cmd := &cobra.Command{
		Use:   "netstat [-l|-a] [-t] [-u] [-p]",
		Short: "List the nodes' network connections",
		Long: `List the nodes' sockets: connected ones by default, listening ones with -l,
both with -a; TCP and UDP (IPv4 and IPv6) unless -t or -u picks one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	cmd.Flags().BoolVarP(&f.Listening, "listening", "l", false, "show only listening sockets")
	cmd.Flags().BoolVarP(&f.All, "all", "a", false, "show listening and connected sockets")
	cmd.Flags().BoolVarP(&f.TCP, "tcp", "t", false, "show TCP sockets")
	cmd.Flags().BoolVarP(&f.UDP, "udp", "u", false, "show UDP sockets")
	cmd.Flags().BoolVarP(&f.PID, "programs", "p", false, "show the PID and name of each socket's process")
	return cmd
}

// request builds the NetstatRequest the flags describe.
func (f *netstatFlags) request() (*machine.NetstatRequest, error) {
	if f.Listening && f.All {
		return nil, fmt.Errorf("-l and -a exclude each other: -a already includes listening sockets")
	}
	req := &machine.NetstatRequest{Filter: machine.NetstatRequest_CONNECTED, Pid: f.PID}
	switch {
	case f.All:
		req.Filter = machine.NetstatRequest_ALL
	case f.Listening:
		req.Filter = machine.NetstatRequest_LISTENING
	}
	tcp, udp := f.TCP, f.UDP
	if !tcp && !udp {
		tcp, udp = true, true
	}
	req.Tcp, req.Tcp6, req.Udp, req.Udp6 = tcp, tcp, udp, udp
	return req, nil
}

func (f *netstatFlags) run(cmd *cobra.Command, g *globalFlags) error {
	req, err := f.request()
	if err != nil {
		return err
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	resp, err := nc.c.Machine.Netstat(nc.fanOut(cmd.Context()), req)
	if err != nil {
		return nc.callError("netstat", err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	w := newTable(cmd.OutOrStdout())
	header := []string{"PROTO", "RECV-Q", "SEND-Q", "LOCAL ADDRESS", "FOREIGN ADDRESS", "STATE"}
	if f.PID {
		header = append(header, "PID/PROGRAM")
	}
	writeRow(w, nc.multi(), "NODE", header...)
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		for _, r := range item.GetConnectRecords() {
			cells := []string{r.GetL4Proto(), strconv.FormatUint(r.GetRxQueue(), 10), strconv.FormatUint(r.GetTxQueue(), 10),
				hostPort(r.GetLocalIp(), r.GetLocalPort()), hostPort(r.GetRemoteIp(), r.GetRemotePort()), dashIfEmpty(r.GetState())}
			if f.PID {
				cells = append(cells, programOf(r))
			}
			writeRow(w, nc.multi(), nc.name(item.GetMetadata()), cells...)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fails.err()
}

// hostPort renders an address like netstat: port 0 is "*".
func hostPort(ip string, port uint32) string {
	p := "*"
	if port != 0 {
		p = strconv.FormatUint(uint64(port), 10)
	}
	return net.JoinHostPort(ip, p)
}

// programOf renders "PID/NAME", or "-" when the process is unknown.
func programOf(r *machine.ConnectRecord) string {
	if r.GetPid() == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%s", r.GetPid(), r.GetProcessName())
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
