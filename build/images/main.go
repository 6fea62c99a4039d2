// Command images builds the OCI images a Plinth cluster needs at start from
// the programs hack/build-programs.sh built, since nodes can pull nothing
// from a registry. Each image is FROM scratch: one static binary and the
// directories above it, with a fixed timestamp, so the same program always
// gives the same image digest.
//
// Usage:
//
//	images -out DIR NAME=PROGRAM_DIR...
//
// NAME is one of the images below (pause, coredns, flannel) and PROGRAM_DIR
// the cache entry of the program it packs; the image's tag is the version
// recorded in that entry's BUILDINFO. Each image is written to DIR/NAME.tar
// as a docker-archive tarball (manifest.json with the tag), which
// `ctr -n k8s.io images import` and `docker load` accept, and a line
// "REF<TAB>ID<TAB>PATH" is printed, ID being the config digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "", "directory to write NAME.tar files to")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: images -out DIR NAME=PROGRAM_DIR...\nimages: %s\n", strings.Join(specNames(), ", "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(out string, args []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, arg := range args {
		name, dir, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("argument %q: want NAME=PROGRAM_DIR", arg)
		}
		spec, ok := specs[name]
		if !ok {
			return fmt.Errorf("unknown image %q (known: %s)", name, strings.Join(specNames(), ", "))
		}
		path := filepath.Join(out, name+".tar")
		ref, id, err := writeImage(spec, dir, path)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		fmt.Printf("%s\t%s\t%s\n", ref, id, path)
	}
	return nil
}
