package api

import (
	"errors"
	"fmt"
	"net/http"
)

// StatusError is returned when the agent answers with a non-2xx status. Body
// is the agent's plain-text explanation ("job not found").
type StatusError struct {
	Method string
	Path   string
	Code   int
	Body   string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Body, e.Code)
}

// StatusCode returns the HTTP status of err if it is (or wraps) a
// *StatusError, else 0.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// IsNotFound reports whether err is a 404 from the agent.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }
