package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

// problemLine renders one problem the way compilers do, so editors can jump
// to it: "controlplane.yaml:16:13: MachineConfig machine.network.hostname: message".
func problemLine(file string, p validation.Problem) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Position.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Position.Line, p.Position.Column)
	}
	b.WriteString(": ")
	if p.Severity == validation.SeverityWarning {
		b.WriteString("warning: ")
	}
	if p.Document != "" {
		b.WriteString(p.Document)
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// configError turns validation problems into an error listing each on its
// own line, prefixed with file; other errors are wrapped with file.
func configError(file string, err error) error {
	var ps validation.Problems
	if !errors.As(err, &ps) {
		return fmt.Errorf("%s: %w", file, err)
	}
	lines := make([]string, 0, len(ps)+1)
	lines = append(lines, fmt.Sprintf("%s is invalid (%s):", file, plural(len(ps), "problem")))
	for _, p := range ps {
		lines = append(lines, "  "+problemLine(file, p))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// printWarnings writes each warning on its own line.
func printWarnings(w io.Writer, file string, warnings validation.Problems) {
	for _, p := range warnings {
		p.Severity = validation.SeverityWarning
		fmt.Fprintln(w, problemLine(file, p))
	}
}

// loadAndValidate loads data (named file in messages) and validates it for
// mode, printing warnings to warnOut.
func loadAndValidate(file string, data []byte, mode validation.Mode, warnOut io.Writer) (*config.Config, error) {
	c, err := config.Load(data)
	if err != nil {
		return nil, configError(file, err)
	}
	warnings, err := c.Validate(mode)
	printWarnings(warnOut, file, warnings)
	if err != nil {
		return nil, configError(file, err)
	}
	return c, nil
}

// readInput reads a file, or standard input for "-".
func readInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}
