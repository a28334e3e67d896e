package sandbox

import "fmt"

// LimitError is returned when evaluating a job file hit one of the Limits.
// Callers map it to a 4xx: the job file, not the agent, is at fault.
type LimitError struct {
	// Reason names the limit, e.g. "evaluation took longer than 10s".
	Reason string
}

func (e *LimitError) Error() string {
	return "job file too expensive to evaluate: " + e.Reason
}

func limitf(format string, args ...any) *LimitError {
	return &LimitError{Reason: fmt.Sprintf(format, args...)}
}
