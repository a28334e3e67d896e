package checks

import (
	"fmt"
	"slices"
)

// Status is a check's health, in Consul's three values: what one probe
// found (Result.Status) and, after the thresholds, what the check reports
// (Change.Status).
type Status string

const (
	StatusPassing  Status = "passing"
	StatusWarning  Status = "warning"
	StatusCritical Status = "critical"
)

func (s Status) String() string { return string(s) }

// Statuses lists the values, from best to worst.
func Statuses() []Status { return []Status{StatusPassing, StatusWarning, StatusCritical} }

// ParseStatus accepts passing, warning and critical (initial_status).
func ParseStatus(s string) (Status, error) {
	if st := Status(s); slices.Contains(Statuses(), st) {
		return st, nil
	}
	return "", fmt.Errorf("unknown check status %q (known: passing, warning, critical)", s)
}

// Worse reports whether s is worse than o (critical worse than warning,
// warning worse than passing).
func (s Status) Worse(o Status) bool {
	return slices.Index(Statuses(), s) > slices.Index(Statuses(), o)
}

// Worst folds statuses into the worst of them; with none it is passing,
// as an instance without checks is healthy.
func Worst(ss ...Status) Status {
	out := StatusPassing
	for _, s := range ss {
		if s.Worse(out) {
			out = s
		}
	}
	return out
}
