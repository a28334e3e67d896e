package server

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Sentinel errors of the server's endpoints. Endpoints wrap them with the
// object kind and ID; callers test with errors.Is and the HTTP layer maps them
// to status codes with ErrorCode.
var (
	// ErrNotFound: a write named an object that does not exist. Reads of a
	// missing object are not errors: they return a nil object, so that a
	// blocking query can wait for the object to appear.
	ErrNotFound = errors.New("not found")
	// ErrPermissionDenied is reserved for ACLs; today only a client whose
	// SecretID does not match its node gets it.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNoLeader: the cluster has no leader to serve the request.
	ErrNoLeader = errors.New("no cluster leader")
	// ErrShutdown: the server is shutting down.
	ErrShutdown = errors.New("server shutting down")
	// ErrBadRequest: the request itself is wrong (missing fields, invalid job,
	// bad filter, check-index conflict).
	ErrBadRequest = errors.New("bad request")
)

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
	return &CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...), Err: ErrBadRequest}
}

// notFound returns a 404 error naming the object: `job not found: "web"`.
// The message starts with "<kind> not found", which clients match on when
// the error crossed the wire as a string (a heartbeat's "node not found"
// makes a client register again).
func notFound(kind, id string) error {
	return &CodedError{Code: http.StatusNotFound, Msg: fmt.Sprintf("%s not found: %q", kind, id), Err: ErrNotFound}
}

// permissionDenied returns a 403 error.
func permissionDenied(why string) error {
	return &CodedError{Code: http.StatusForbidden, Msg: "permission denied: " + why, Err: ErrPermissionDenied}
}

// ErrorCode returns the HTTP status for an endpoint error: the code of a
// CodedError, 404/403/400 for the sentinels, 500 otherwise.
func ErrorCode(err error) int {
	var ce *CodedError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrPermissionDenied):
		return http.StatusForbidden
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// FromWire gives an endpoint error that crossed the RPC wire, where only
// its text travels, its status back: a client-only agent's HTTP API then
// answers 404, 403 or 400 as the server's own would. The text is matched
// against what notFound, permissionDenied and badRequest write.
func FromWire(msg string) error {
	code, sentinel := wireCode(msg)
	if code == 0 {
		return errors.New(msg)
	}
	return &CodedError{Code: code, Msg: msg, Err: sentinel}
}

var notFoundText = regexp.MustCompile(`^[a-z][a-z ]* not found(: |$)`)

// badRequestPrefixes start the messages of badRequest's callers whose
// text is fixed; those that pass another error's text on are not known.
var badRequestPrefixes = []string{
	"missing ", "job validation failed", "enforcing job modify index", "can't revert job", "can't evaluate",
	"current version of job", "no scheduler for job type", "no allocation updates", "allocation update without ID",
	"failed to parse filter", "failed to evaluate filter", "no services to", "service registration needs",
}

func wireCode(msg string) (int, error) {
	switch {
	case notFoundText.MatchString(msg):
		return http.StatusNotFound, ErrNotFound
	case strings.HasPrefix(msg, ErrPermissionDenied.Error()):
		return http.StatusForbidden, ErrPermissionDenied
	case strings.HasPrefix(msg, "node ") && strings.Contains(msg, " is draining: "):
		return http.StatusBadRequest, ErrBadRequest
	}
	for _, p := range badRequestPrefixes {
		if strings.HasPrefix(msg, p) {
			return http.StatusBadRequest, ErrBadRequest
		}
	}
	return 0, nil
}
