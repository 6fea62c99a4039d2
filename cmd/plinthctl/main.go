// Command plinthctl is the client of Plinth nodes: it generates and patches
// machine configs, manages nodes over the mTLS API and creates local clusters.
package main

import (
	"fmt"
	"os"
)

func main() {
	root := newRootCmd(os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
