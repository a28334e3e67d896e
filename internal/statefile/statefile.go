package statefile

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"
)

// ErrCorrupt matches every CorruptError with errors.Is.
var ErrCorrupt = errors.New("corrupt state file")

// CorruptError says which state file cannot be used, why, and what the
// operator can do about it. Its text is what the agent prints on exit.
type CorruptError struct {
	Path   string // the file (or directory) refused
	Reason string // what is wrong with it, in a few words
	Err    error  // the underlying error, if any
	Remedy string // what to do: set by the owner of the file, who knows its role
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("state file %s cannot be used: %s", e.Path, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Remedy != "" {
		msg += "\n" + e.Remedy
	}
	return msg
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func (e *CorruptError) Unwrap() error { return e.Err }

// WithRemedy sets the remedy on err if it is a CorruptError without one.
func WithRemedy(err error, remedy string) error {
	var ce *CorruptError
	if errors.As(err, &ce) && ce.Remedy == "" {
		ce.Remedy = remedy
	}
	return err
}

// MoveAside renames path to <path>.corrupt-<UTC time>, so that a fresh start
// never destroys what an operator may still want to recover. It returns the
// new name.
func MoveAside(path string, now time.Time) (string, error) {
	dst := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if _, err := os.Lstat(dst); err == nil {
		dst += fmt.Sprintf("-%d", now.UnixNano())
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("move aside %s: %w", path, err)
	}
	return dst, nil
}

// Guard runs fn, turning a panic, or a memory fault while reading a mapped
// file, into an error. Only fn's own goroutine is covered: a library that
// reads the file on a goroutine of its own must not be handed it unchecked.
func Guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while reading: %v", r)
		}
	}()
	return fn()
}
