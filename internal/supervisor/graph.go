package supervisor

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var validID = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// checkID rejects IDs that cannot name a log file or a cgroup.
func checkID(id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("invalid service ID %q: use letters, digits, '.', '_' and '-'", id)
	}
	return nil
}

// startOrder returns ids and every service they depend on, transitively,
// each after its dependencies. deps reports a service's dependencies and
// whether it is loaded. Unknown services and dependency cycles are errors.
func startOrder(ids []string, deps func(id string) ([]string, bool)) ([]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	mark := map[string]int{}
	var order, path []string
	var visit func(id, from string) error
	visit = func(id, from string) error {
		switch mark[id] {
		case done:
			return nil
		case visiting:
			cycle := append(path[slices.Index(path, id):], id)
			return fmt.Errorf("dependency cycle: %s", strings.Join(cycle, " -> "))
		}
		ds, ok := deps(id)
		if !ok {
			if from == "" {
				return fmt.Errorf("unknown service %q", id)
			}
			return fmt.Errorf("service %q depends on unknown service %q", from, id)
		}
		mark[id] = visiting
		path = append(path, id)
		for _, d := range ds {
			if err := visit(d, id); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		mark[id] = done
		order = append(order, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// stopLevels orders the services of set for stopping: each level holds
// services that no unstopped service of set depends on, so the levels are
// stopped one after the other, each level's services together.
func stopLevels(set []string, deps func(id string) []string) ([][]string, error) {
	in := map[string]bool{}
	for _, id := range set {
		in[id] = true
	}
	dependents := map[string]int{} // how many of set depend on the key
	for _, id := range set {
		for _, d := range deps(id) {
			if in[d] && d != id {
				dependents[d]++
			}
		}
	}
	var levels [][]string
	for len(in) > 0 {
		var level []string
		for id := range in {
			if dependents[id] == 0 {
				level = append(level, id)
			}
		}
		if len(level) == 0 {
			return nil, fmt.Errorf("dependency cycle among %s", strings.Join(slices.Sorted(maps.Keys(in)), ", "))
		}
		slices.Sort(level)
		for _, id := range level {
			delete(in, id)
			for _, d := range deps(id) {
				if in[d] {
					dependents[d]--
				}
			}
		}
		levels = append(levels, level)
	}
	return levels, nil
}

// withDependents returns ids plus every service among candidates that
// depends on one of them, transitively.
func withDependents(ids, candidates []string, deps func(id string) []string) []string {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	for grew := true; grew; {
		grew = false
		for _, c := range candidates {
			if set[c] {
				continue
			}
			if slices.ContainsFunc(deps(c), func(d string) bool { return set[d] }) {
				set[c], grew = true, true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
