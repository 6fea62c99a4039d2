// Command etcd is the etcd server from go.etcd.io/etcd/server/v3, as the
// upstream etcd program runs it (etcdmain.Main), built static for Plinth
// nodes. etcdctl is not built: nodes have no shell to run it from, and
// Plinth reaches etcd through its client library instead.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
