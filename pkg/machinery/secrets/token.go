package secrets

import (
	"crypto/rand"
	"regexp"
)

// tokenAlphabet is the character set of bootstrap-style tokens.
const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// tokenRE matches a Kubernetes bootstrap token: a public id and a secret.
var tokenRE = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// NewToken returns a random token in the Kubernetes bootstrap token form
// [a-z0-9]{6}.[a-z0-9]{16}.
func NewToken() string {
	return randomString(6) + "." + randomString(16)
}

// ValidToken reports whether s has the form of a bootstrap token.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// randomString returns n characters drawn uniformly from tokenAlphabet.
func randomString(n int) string {
	// Rejection sampling: 252 is the largest multiple of 36 below 256, so
	// bytes >= 252 are discarded to keep every character equally likely.
	const limit = 256 - 256%len(tokenAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		rand.Read(buf) //nolint:errcheck // never fails since Go 1.24
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, tokenAlphabet[int(b)%len(tokenAlphabet)])
			}
		}
	}
	return string(out)
}
