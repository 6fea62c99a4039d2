// Command plinth-init is the initramfs's /init: only `plinth init`, linked
// alone so that the kernel unpacks ~2 MB instead of the whole multi-call
// binary and Go initialises only what init needs before PID 1 starts
// working (about a second sooner under TCG; docs/image.md).
package main

import (
	"os"

	initapp "github.com/plinth-os/plinth/internal/app/init"
)

func main() { os.Exit(initapp.Main(os.Args[1:])) }
