package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/roam-sh/roam/server"
)

// httpError is an error raised by this package with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// badRequest is a 400 with a message for the caller.
func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// notFound is a 404 "<kind> not found", the bodies Nomad's clients expect.
func notFound(kind string) error {
	return &httpError{code: http.StatusNotFound, msg: kind + " not found"}
}

// notImplemented is a 501 for features this agent does not offer.
func notImplemented(what string) error {
	return &httpError{code: http.StatusNotImplemented, msg: what + " not available on this agent"}
}

// statusCode is the one place that maps errors to HTTP status codes:
//
//	*httpError (this package)        its code
//	*http.MaxBytesError              413
//	server errors (CodedError, ...)  server.ErrorCode: 400/403/404, else 500
func statusCode(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	}
	return server.ErrorCode(err)
}

// errorMessage is the body written for err.
func errorMessage(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Sprintf("request body exceeds the limit of %d bytes", mbe.Limit)
	}
	return err.Error()
}
