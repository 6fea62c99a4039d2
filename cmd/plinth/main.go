// Command plinth is the node's multi-call binary. The program to run is
// chosen by the name it was invoked as (a symlink such as /sbin/init or
// /usr/bin/machined) or, failing that, by its first argument:
//
//	plinth init | machined | apid | trustd | version
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plinth-os/plinth/internal/app/apid"
	initapp "github.com/plinth-os/plinth/internal/app/init"
	"github.com/plinth-os/plinth/internal/app/machined"
	"github.com/plinth-os/plinth/internal/app/trustd"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

// programs are the entry points of the multi-call binary. Each gets the
// arguments after its name.
var programs = map[string]func(args []string) int{
	"init":     initapp.Main,
	"machined": machined.Main,
	"apid":     apid.Main,
	"trustd":   trustd.Main,
	"version": func([]string) int {
		fmt.Printf("plinth %s (%s)\n", version.Tag, version.GoVersion())
		return 0
	},
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	name := filepath.Base(argv[0])
	args := argv[1:]
	if _, ok := programs[name]; !ok {
		if len(args) == 0 {
			usage()
			return 2
		}
		name, args = args[0], args[1:]
	}
	prog, ok := programs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "plinth: unknown program %q\n", name)
		usage()
		return 2
	}
	return prog(args)
}

func usage() {
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: plinth <%s> [args]\n", strings.Join(names, "|"))
}
