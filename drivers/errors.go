package drivers

import "errors"

// Sentinel errors drivers return; match them with errors.Is.
var (
	// ErrTaskNotFound: the driver holds no task with that ID.
	ErrTaskNotFound = errors.New("task not found")
	// ErrTaskRunning: the operation needs a stopped task.
	ErrTaskRunning = errors.New("task is still running")
	// ErrDisabled: the driver is not enabled on this node.
	ErrDisabled = errors.New("driver is disabled")
	// ErrNotSupported: the driver cannot do that.
	ErrNotSupported = errors.New("not supported by driver")
)

// recoverableError marks a failure that may succeed if the task is started
// again (the client then applies the restart policy instead of failing the
// task at once).
type recoverableError struct{ err error }

func (e *recoverableError) Error() string { return e.err.Error() }
func (e *recoverableError) Unwrap() error { return e.err }

// NewRecoverableError wraps err as recoverable; nil stays nil.
func NewRecoverableError(err error) error {
	if err == nil {
		return nil
	}
	return &recoverableError{err: err}
}

// IsRecoverable reports whether err, or anything it wraps, is recoverable.
func IsRecoverable(err error) bool {
	var r *recoverableError
	return errors.As(err, &r)
}
