package executor

import (
	"encoding/json"
	"time"
)

// Operations a client may ask of an executor over its socket. Each connection
// carries one request line and one response line (JSON).
type op string

const (
	// opSignal sends a signal to the task's main process (not its children).
	opSignal op = "signal"
	// opStop sends a signal and, if the task is still alive after Timeout,
	// SIGKILL; the executor owns the escalation so it survives a client crash.
	opStop op = "stop"
	// opWait blocks until the task exits and returns its status.
	opWait op = "wait"
	// opStatus answers at once with the task's PID and exit status if any.
	opStatus op = "status"
)

type request struct {
	Op      op            `json:"op"`
	Signal  int           `json:"signal,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

type response struct {
	OK      bool        `json:"ok,omitempty"`
	Error   string      `json:"error,omitempty"`
	TaskPID int         `json:"task_pid,omitempty"`
	Exit    *ExitStatus `json:"exit,omitempty"`
}

// handshake is the single line an executor writes to its stdout once the task
// has started (or failed to start); then it closes stdout.
type handshake struct {
	TaskPID   int       `json:"task_pid,omitempty"`
	TaskStart uint64    `json:"task_start,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Error     string    `json:"error,omitempty"`
}

func encodeLine(v any) []byte {
	b, _ := json.Marshal(v)
	return append(b, '\n')
}
