// Command pause is Plinth's pod sandbox program: the process that holds a
// pod's namespaces open while its containers come and go.
//
// It sleeps until SIGINT or SIGTERM, then exits 0. When it runs as PID 1 (the
// usual case, with a shared PID namespace) it also reaps every orphan
// re-parented to it, so zombies do not pile up in the pod. It has no
// dependencies beyond the standard library and is built static, so it runs
// FROM scratch as registry.k8s.io/pause.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at link time (-X main.version=...).
var version = "dev"

func main() {
	for _, arg := range os.Args[1:] {
		switch arg {
		case "-v", "--version", "-version":
			fmt.Printf("pause %s (plinth)\n", version)
			return
		case "-h", "--help", "-help":
			fmt.Println("usage: pause [-v]\n\nHolds a pod's namespaces; exits on SIGINT or SIGTERM, reaps orphans as PID 1.")
			return
		default:
			fmt.Fprintf(os.Stderr, "pause: unknown argument %q\n", arg)
			os.Exit(1)
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: warning: not PID 1; orphans will not be reaped by this process")
	}

	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: shutting down on %v\n", sig)
		os.Exit(0)
	}
}

// reap collects every exited child without blocking. One SIGCHLD may stand
// for several exits, so it loops until no zombie is left.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return // no child left (ECHILD), or none has exited yet
		}
	}
}
