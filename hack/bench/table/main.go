// Command table reads `go test -bench` output on standard input and prints
// one row per benchmark with the median of every metric over the runs
// (-count), so noisy single runs do not decide the figures.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

type series struct {
	pkg     string
	name    string
	metrics map[string][]float64
	order   []string
}

func main() {
	var pkg string
	byKey := map[string]*series{}
	var keys []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/plinth-os/plinth/")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // strip GOMAXPROCS suffix
		}
		key := pkg + " " + name
		s := byKey[key]
		if s == nil {
			s = &series{pkg: pkg, name: name, metrics: map[string][]float64{}}
			byKey[key] = s
			keys = append(keys, key)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			unit := fields[i+1]
			if _, seen := s.metrics[unit]; !seen {
				s.order = append(s.order, unit)
			}
			s.metrics[unit] = append(s.metrics[unit], v)
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PACKAGE\tBENCHMARK\tRUNS\tMEDIANS")
	for _, k := range keys {
		s := byKey[k]
		var parts []string
		runs := 0
		for _, unit := range s.order {
			vals := s.metrics[unit]
			runs = len(vals)
			parts = append(parts, fmt.Sprintf("%s %s", format(median(vals)), unit))
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", s.pkg, strings.TrimPrefix(s.name, "Benchmark"), runs, strings.Join(parts, "  "))
	}
	w.Flush()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func format(f float64) string {
	switch {
	case f >= 1e6:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
