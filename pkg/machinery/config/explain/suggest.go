package explain

import "strings"

// closest returns the candidate nearest to name, compared without case:
// the one with the fewest single-letter edits if those are few for the
// name's length, else the first that starts with name. Ties go to the
// earlier candidate. It returns "" when nothing is close.
func closest(name string, candidates []string) string {
	lname := strings.ToLower(name)
	best, bestDist := "", max(2, len(name)/3)+1
	prefixed := ""
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if d := editDistance(lname, lc); d < bestDist {
			best, bestDist = c, d
		}
		if prefixed == "" && len(lname) >= 2 && strings.HasPrefix(lc, lname) {
			prefixed = c
		}
	}
	if best == "" {
		return prefixed
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
