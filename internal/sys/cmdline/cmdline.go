// Package cmdline parses the kernel command line (/proc/cmdline) and the
// arguments Plinth reads from it: plinth.config (where to fetch the machine
// config) and ip= (the kernel's network autoconfiguration syntax).
//
// Parsing is pure: Parse takes the text, Read reads it from a proc root.
package cmdline

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ConfigKey names the URL of the machine config: plinth.config=http://...
const ConfigKey = "plinth.config"

// IPKey is the kernel's network autoconfiguration argument.
const IPKey = "ip"

// Arg is one word of the command line: key=value, or a bare key.
type Arg struct {
	// Key is the part before the first '='.
	Key string
	// Value is the part after it, unquoted; empty for a bare key.
	Value string
	// HasValue tells "key=" from "key".
	HasValue bool
}

// Cmdline is a parsed kernel command line, in order.
type Cmdline struct {
	// Args are the kernel's arguments, up to a "--" (the rest go to init).
	Args []Arg
}

// Read parses <procRoot>/cmdline.
func Read(procRoot string) (Cmdline, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, "cmdline"))
	if err != nil {
		return Cmdline{}, fmt.Errorf("read kernel command line: %w", err)
	}
	return Parse(string(data)), nil
}

// Parse splits s into arguments the way the kernel does: words separated
// by white space, double quotes protecting spaces (and removed), parsing
// stopping at a lone "--".
func Parse(s string) Cmdline {
	var (
		c      Cmdline
		word   strings.Builder
		quoted bool
		inWord bool
	)
	flush := func() bool {
		if !inWord {
			return true
		}
		w := word.String()
		word.Reset()
		inWord = false
		if w == "--" {
			return false
		}
		c.Args = append(c.Args, splitArg(w))
		return true
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			if !flush() {
				return c
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return c
}

func splitArg(w string) Arg {
	k, v, ok := strings.Cut(w, "=")
	return Arg{Key: k, Value: v, HasValue: ok}
}

// Get returns the value of the last argument named key, as the kernel
// does when a key repeats.
func (c Cmdline) Get(key string) (string, bool) {
	for i := len(c.Args) - 1; i >= 0; i-- {
		if c.Args[i].Key == key {
			return c.Args[i].Value, true
		}
	}
	return "", false
}

// ConfigURL returns the plinth.config URL, "" when the argument is absent,
// or an error when it is not an absolute http or https URL.
func (c Cmdline) ConfigURL() (string, error) {
	v, ok := c.Get(ConfigKey)
	if !ok {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", ConfigKey, v, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: expected an http:// or https:// URL", ConfigKey, v)
	}
	return v, nil
}

// IP returns the parsed last ip= argument, or nil when there is none.
func (c Cmdline) IP() (*IPConfig, error) {
	v, ok := c.Get(IPKey)
	if !ok {
		return nil, nil
	}
	ip, err := ParseIP(v)
	if err != nil {
		return nil, err
	}
	return &ip, nil
}

// SysctlKeys returns the kernel parameters the command line sets itself:
// every sysctl.<key>=value (Linux 5.8+), and kernel.panic for panic=.
// Plinth's defaults leave them alone.
func (c Cmdline) SysctlKeys() []string {
	var out []string
	for _, a := range c.Args {
		switch {
		case a.Key == "panic" && a.HasValue:
			out = append(out, "kernel.panic")
		case strings.HasPrefix(a.Key, "sysctl.") && len(a.Key) > len("sysctl."):
			out = append(out, strings.ReplaceAll(strings.TrimPrefix(a.Key, "sysctl."), "/", "."))
		}
	}
	return out
}
