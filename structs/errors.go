package structs

import "fmt"

// ErrorKind classifies the errors of the server's endpoints. It crosses the
// RPC wire beside the message (internal/msgrpc carries it), so a caller on
// another host tests an error with errors.Is against the same sentinel as a
// caller in process, and the HTTP API answers with the same status either
// way. A kind this build does not know (from a newer server) matches no
// sentinel: the error is then an internal one.
type ErrorKind string

// The kinds, one per sentinel below.
const (
	ErrorKindNotFound         ErrorKind = "not_found"
	ErrorKindPermissionDenied ErrorKind = "permission_denied"
	ErrorKindNoLeader         ErrorKind = "no_leader"
	ErrorKindShutdown         ErrorKind = "shutdown"
	ErrorKindBadRequest       ErrorKind = "bad_request"
)

func (k ErrorKind) String() string { return string(k) }

// kindError is the sentinel of one ErrorKind.
type kindError struct {
	kind ErrorKind
	msg  string
}

func (e *kindError) Error() string { return e.msg }

// RPCErrorKind is what the RPC transport sends as the error's kind
// (msgrpc.KindedError).
func (e *kindError) RPCErrorKind() string { return string(e.kind) }

// Sentinel errors of the server's endpoints. Endpoints wrap them with the
// object and the reason; callers test with errors.Is, on either side of the
// RPC wire, and the HTTP layer maps them to status codes (server.ErrorCode).
var (
	// ErrNotFound: a write named an object that does not exist. Reads of a
	// missing object are not errors: they return a nil object, so that a
	// blocking query can wait for the object to appear. A client whose
	// heartbeat gets it registers again: the servers forgot its node.
	ErrNotFound error = &kindError{ErrorKindNotFound, "not found"}
	// ErrPermissionDenied is reserved for ACLs; today only a client whose
	// SecretID does not match its node gets it.
	ErrPermissionDenied error = &kindError{ErrorKindPermissionDenied, "permission denied"}
	// ErrNoLeader: the cluster has no leader to serve the request.
	ErrNoLeader error = &kindError{ErrorKindNoLeader, "no cluster leader"}
	// ErrShutdown: the server is shutting down.
	ErrShutdown error = &kindError{ErrorKindShutdown, "server shutting down"}
	// ErrBadRequest: the request itself is wrong (missing fields, invalid job,
	// bad filter, check-index conflict).
	ErrBadRequest error = &kindError{ErrorKindBadRequest, "bad request"}
)

// BadRequestf is an ErrBadRequest whose message is only its own text (no
// trailing ": bad request"): state writes refuse requests with it, and the
// message reaches the user as is.
func BadRequestf(format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...)}
}

type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// Is makes errors.Is(err, ErrBadRequest) hold.
func (e *refusal) Is(target error) bool { return target == ErrBadRequest }

// RPCErrorKind carries the kind across the RPC wire.
func (e *refusal) RPCErrorKind() string { return string(ErrorKindBadRequest) }
