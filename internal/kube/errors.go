package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is an answer other than 2xx; the API server's Status fills
// Reason and Message when it sent one.
type APIError struct {
	Method, Path string
	Code         int
	// Reason is the Status reason, e.g. NotFound, Conflict, Forbidden.
	Reason  string
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}

	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, msg)
}

func newAPIError(method, path string, code int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Code: code}

	var st struct {
		Kind    string `json:"kind"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}

	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		e.Reason, e.Message = st.Reason, st.Message
	} else if s := strings.TrimSpace(string(body)); len(s) > 0 && len(s) < 512 {
		e.Message = s
	}

	return e
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *APIError

	return errors.As(err, &e) && e.Code == http.StatusNotFound
}

// ErrUnknownKind is returned for a kind the API server does not serve
// (yet: a custom resource whose definition is not established).
var ErrUnknownKind = errors.New("kind not served by the API server")
