package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// The sentinels of the endpoints' errors are structs.ErrNotFound,
// ErrPermissionDenied, ErrNoLeader, ErrShutdown and ErrBadRequest: clients
// test for them too, and client may not import server. Their kind crosses
// the RPC wire (internal/msgrpc), so errors.Is and ErrorCode give the same
// answer for an error that came from a remote server as for a local one.

// CodedError carries the HTTP status an error maps to. Err, when set, is the
// sentinel or cause it wraps.
type CodedError struct {
	Code int
	Msg  string
	Err  error
}

func (e *CodedError) Error() string { return e.Msg }

// Unwrap returns the wrapped sentinel or cause.
func (e *CodedError) Unwrap() error { return e.Err }

// badRequest returns a 400 error.
func badRequest(format string, args ...any) error {
	return &CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...), Err: structs.ErrBadRequest}
}

// notFound returns a 404 error naming the object: `job not found: "web"`.
func notFound(kind, id string) error {
	return &CodedError{Code: http.StatusNotFound, Msg: fmt.Sprintf("%s not found: %q", kind, id), Err: structs.ErrNotFound}
}

// permissionDenied returns a 403 error.
func permissionDenied(why string) error {
	return &CodedError{Code: http.StatusForbidden, Msg: "permission denied: " + why, Err: structs.ErrPermissionDenied}
}

// ErrorCode returns the HTTP status for an endpoint error: the code of a
// CodedError, 404/403/400 for the sentinels (also when the error crossed
// the wire), 500 otherwise.
func ErrorCode(err error) int {
	var ce *CodedError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, structs.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, structs.ErrPermissionDenied):
		return http.StatusForbidden
	case errors.Is(err, structs.ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
