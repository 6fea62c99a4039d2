// Command docgen generates the machine config reference from the doc
// comments of the config types: the data behind `plinthctl explain`, the
// Markdown reference in docs/ and a JSON schema. It runs from a
// //go:generate directive in pkg/machinery/config/v1alpha1:
//
//	go run ../../../../hack/docgen -src . -go ../explain/zz_generated_fields.go \
//		-md ../../../../docs/reference/config.md -schema ../../../../docs/reference/config.schema.json
//
// Output is byte-stable for the same input. Doc comments are checked on the
// way: every field needs one, and Values/Default/Example must be YAML
// values of the field's type.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// options are docgen's command-line flags.
type options struct {
	src    string // directory of the config package
	goOut  string // generated Go file; its directory names the package
	mdOut  string // Markdown reference
	schema string // JSON schema
}

func main() {
	var o options
	flag.StringVar(&o.src, "src", ".", "directory of the config package to read")
	flag.StringVar(&o.goOut, "go", "", "Go file to write the field tree to")
	flag.StringVar(&o.mdOut, "md", "", "Markdown reference to write")
	flag.StringVar(&o.schema, "schema", "", "JSON schema to write")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}

// run reads the package and writes each output that has a path.
func run(o options) error {
	src, err := loadSource(o.src)
	if err != nil {
		return err
	}
	m, err := buildModel(src)
	if err != nil {
		return fmt.Errorf("%s: %w", o.src, err)
	}
	outputs := []struct {
		path   string
		render func(*model) ([]byte, error)
	}{
		{o.goOut, func(m *model) ([]byte, error) { return goCode(m, packageOf(o.goOut)) }},
		{o.mdOut, markdown},
		{o.schema, jsonSchema},
	}
	for _, out := range outputs {
		if out.path == "" {
			continue
		}
		data, err := out.render(m)
		if err != nil {
			return err
		}
		if err := writeIfChanged(out.path, data); err != nil {
			return err
		}
	}
	return nil
}

// packageOf names the package of a Go file after its directory.
func packageOf(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Base(filepath.Dir(path))
	}
	return filepath.Base(filepath.Dir(abs))
}

// writeIfChanged writes data to path, creating its directory, unless the
// file holds data already (so that its time stays for make and editors).
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fsutil.WriteFileAtomic(path, data, 0o644)
}
