package drivers

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// Tasks is a driver's table of the tasks it runs, by task ID. The zero
// value is ready to use.
type Tasks[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

// Put records a task.
func (s *Tasks[T]) Put(id string, t T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]T{}
	}
	s.m[id] = t
}

// Lookup returns the task, or the zero T when there is none.
func (s *Tasks[T]) Lookup(id string) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id]
}

// Get returns the task, or an error wrapping ErrTaskNotFound.
func (s *Tasks[T]) Get(id string) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[id]
	if !ok {
		return t, fmt.Errorf("task %s: %w", id, ErrTaskNotFound)
	}
	return t, nil
}

// Delete forgets a task.
func (s *Tasks[T]) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// WaitChannel is what Driver.WaitTask returns for a task whose exit is
// signalled by closing done: a channel that receives result() then closes,
// or closes without a value when ctx ends first.
func WaitChannel(ctx context.Context, done <-chan struct{}, result func() *ExitResult) <-chan *ExitResult {
	ch := make(chan *ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-done:
			ch <- result()
		case <-ctx.Done():
		}
	}()
	return ch
}

// Exit is a task's exit, recorded once: the result, when it happened, and
// a channel closed once both are set.
type Exit struct {
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	res  *ExitResult
	at   time.Time
}

// NewExit returns an exit not yet happened.
func NewExit() *Exit { return &Exit{done: make(chan struct{})} }

// Finish records the exit; only the first call counts.
func (e *Exit) Finish(res *ExitResult, at time.Time) {
	e.once.Do(func() {
		e.mu.Lock()
		e.res, e.at = res, at
		e.mu.Unlock()
		close(e.done)
	})
}

// Done is closed once the task exited.
func (e *Exit) Done() <-chan struct{} { return e.done }

// Exited reports whether the task exited.
func (e *Exit) Exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Result is the exit's result, nil before the exit.
func (e *Exit) Result() *ExitResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.res
}

// At is when the task exited, zero before the exit.
func (e *Exit) At() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at
}

// Stoppable is a driver's task as the Driver methods every driver answers
// alike (WaitTask, StopTask) see it.
type Stoppable interface {
	// Stop sends sig and SIGKILL after timeout; it returns at once.
	Stop(sig syscall.Signal, timeout time.Duration) error
	// ExitState records the task's exit.
	ExitState() *Exit
}

// WaitTaskIn is Driver.WaitTask for a driver whose tasks are in s.
func WaitTaskIn[T Stoppable](ctx context.Context, s *Tasks[T], id string) (<-chan *ExitResult, error) {
	t, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	e := t.ExitState()
	return WaitChannel(ctx, e.Done(), e.Result), nil
}

// StopTaskIn is Driver.StopTask for a driver whose tasks are in s: signal
// (def when empty), then SIGKILL after timeout.
func StopTaskIn[T Stoppable](ctx context.Context, s *Tasks[T], id string, timeout time.Duration, signal string, def syscall.Signal) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	t, err := s.Get(id)
	if err != nil {
		return err
	}
	sig, err := ParseSignal(signal, def)
	if err != nil {
		return err
	}
	return t.Stop(sig, timeout)
}

// ExecCollected is Driver.ExecTask for a driver that streams: stream runs
// the command with the output collected, bounded by timeout.
func ExecCollected(timeout time.Duration, cmd []string, stream func(context.Context, *ExecOptions) (*ExitResult, error)) (*ExecResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := stream(ctx, &ExecOptions{Command: cmd, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return nil, err
	}
	return &ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: res}, nil
}

// EnsureDead is the first step of Driver.DestroyTask: a task that exited
// needs nothing; a running one is refused unless force, then killed. A ctx
// already ended stops the destroy before it touches anything.
func EnsureDead(ctx context.Context, id string, exit *Exit, force bool, kill func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("destroy task %s: %w", id, err)
	}
	if exit.Exited() {
		return nil
	}
	if !force {
		return fmt.Errorf("destroy task %s: %w", id, ErrTaskRunning)
	}
	if err := kill(); err != nil {
		return fmt.Errorf("destroy task %s: %w", id, err)
	}
	return nil
}
