package msgrpc

import "errors"

// Errors of the transport itself.
var (
	// ErrPoolClosed is returned by Pool.RPC after Close.
	ErrPoolClosed = errors.New("rpc pool closed")
	// ErrClosed is returned by Client.Call when the connection was already
	// closed or broken before the call was sent: retrying it elsewhere
	// cannot apply a write twice.
	ErrClosed = errors.New("rpc connection closed")
)

// KindedError is an error whose kind crosses the wire beside its message.
// The server sends the kind of the first error in an endpoint error's chain
// that has one; the caller gets a *RemoteError that errors.Is matches with
// every KindedError of the same kind. structs' sentinels (ErrNotFound, ...)
// are such errors, so errors.Is(err, structs.ErrNotFound) holds on either
// side of the wire, and no caller has to read the message to learn the kind.
type KindedError interface {
	error
	RPCErrorKind() string
}

// RemoteError is an endpoint's error as a remote caller receives it. A
// connection that returns one is healthy: the call was delivered and
// answered.
type RemoteError struct {
	// Kind is the error's kind, empty for an error that has none (it then
	// matches no sentinel, whatever its message says).
	Kind    string
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// RPCErrorKind makes a RemoteError a KindedError, so that a server that
// forwarded a call passes the leader's error on with its kind.
func (e *RemoteError) RPCErrorKind() string { return e.Kind }

// Is reports whether target is a KindedError of the same kind.
func (e *RemoteError) Is(target error) bool {
	k, ok := target.(KindedError)
	return ok && e.Kind != "" && k.RPCErrorKind() == e.Kind
}

// errorKind is the kind an endpoint error is sent with.
func errorKind(err error) string {
	var k KindedError
	if errors.As(err, &k) {
		return k.RPCErrorKind()
	}
	return ""
}
