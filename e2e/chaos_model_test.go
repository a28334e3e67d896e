package e2e

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
)

// The chaos suite's sequential specification of one job, as the HTTP API
// shows it, for the porcupine linearizability checker. A history is checked
// per job (partitioned by job ID): operations on different jobs commute.

// jobOpKind is what a workload operation did.
type jobOpKind int

const (
	opRegister jobOpKind = iota // PUT /v1/jobs, unconditional
	opCAS                       // PUT /v1/jobs with EnforceIndex and JobModifyIndex
	opStop                      // DELETE /v1/job/:id (no purge)
	opRead                      // GET /v1/job/:id (consistent, or ?stale)
)

func (k jobOpKind) String() string {
	return [...]string{"register", "cas", "stop", "read"}[k]
}

// jobInput is an operation's arguments.
type jobInput struct {
	Kind   jobOpKind
	Job    string
	Value  string // register, cas: the job's meta value, unique per write
	Expect uint64 // cas: the JobModifyIndex the write is conditioned on
	Stale  bool   // read: ?stale
}

// outcome is how an operation ended, as far as its caller can tell.
type outcome int

const (
	outOK       outcome = iota // 2xx
	outRefused                 // a definite refusal: cas conflict (400), stop of a missing job (404)
	outNotFound                // read: 404
	outUnknown                 // timeout, 5xx, connection lost: it may or may not have taken effect
)

// jobOutput is what the caller saw. Index is the JobModifyIndex a write
// returned, or the one a read saw.
type jobOutput struct {
	Out   outcome
	Index uint64
	Value string
	Stop  bool
}

// jobState is the model's state of one job. Index 0 on an existing job
// means a write of unknown outcome took effect and nobody has seen its
// index yet: any index is then accepted, and the next read learns it.
type jobState struct {
	Exists bool
	Stop   bool
	Value  string
	Index  uint64
}

// stepJob is the sequential specification: can the job in state s take
// the operation in with the result out, and into which state.
func stepJob(s jobState, in jobInput, out jobOutput) (bool, jobState) {
	switch in.Kind {
	case opRegister:
		return stepWrite(s, in, out)
	case opCAS:
		matches := s.Exists && (s.Index == in.Expect || s.Index == 0)
		if in.Expect == 0 {
			matches = !s.Exists
		}
		if out.Out == outRefused {
			// A refused cas leaves the job as it was; it is legal unless
			// the index certainly matched.
			certain := (in.Expect == 0 && !s.Exists) || (s.Exists && s.Index != 0 && s.Index == in.Expect)
			return !certain, s
		}
		if !matches {
			// Only an unknown outcome may have been a refusal here.
			return out.Out == outUnknown, s
		}
		return stepWrite(s, in, out)
	case opStop:
		return stepStop(s, out)
	case opRead:
		return stepRead(s, out)
	}
	return false, s
}

// stepWrite applies a register (or a cas whose condition holds).
func stepWrite(s jobState, in jobInput, out jobOutput) (bool, jobState) {
	next := jobState{Exists: true, Value: in.Value}
	switch out.Out {
	case outOK:
		if s.Exists && s.Index != 0 && out.Index <= s.Index {
			return false, s // indexes only grow
		}
		next.Index = out.Index
	case outUnknown:
		// Applied, index unknown. (Not applied at all is the same as
		// applied after every other operation: the unknown operation's
		// return time is the end of the history.)
	default:
		return false, s
	}
	return true, next
}

// stepStop applies a stop: a stopped job keeps its index when it was
// already stopped, and gets the write's index otherwise.
func stepStop(s jobState, out jobOutput) (bool, jobState) {
	switch out.Out {
	case outRefused:
		return !s.Exists, s
	case outOK:
		if !s.Exists {
			return false, s
		}
		if s.Stop {
			return true, s
		}
		next := s
		next.Stop, next.Index = true, out.Index
		return true, next
	case outUnknown:
		if !s.Exists || s.Stop {
			return true, s
		}
		next := s
		next.Stop, next.Index = true, 0
		return true, next
	}
	return false, s
}

// stepRead checks what a read saw against the state.
func stepRead(s jobState, out jobOutput) (bool, jobState) {
	switch out.Out {
	case outNotFound:
		return !s.Exists, s
	case outOK:
		if !s.Exists || s.Value != out.Value || s.Stop != out.Stop {
			return false, s
		}
		if s.Index == 0 {
			next := s
			next.Index = out.Index // learned
			return true, next
		}
		return s.Index == out.Index, s
	}
	return false, s
}

// jobModel is the porcupine model: partitioned per job, starting with no job.
var jobModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byJob := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			id := op.Input.(jobInput).Job
			if _, ok := byJob[id]; !ok {
				order = append(order, id)
			}
			byJob[id] = append(byJob[id], op)
		}
		parts := make([][]porcupine.Operation, 0, len(order))
		for _, id := range order {
			parts = append(parts, byJob[id])
		}
		return parts
	},
	Init: func() any { return jobState{} },
	Step: func(state, input, output any) (bool, any) {
		return stepJob(state.(jobState), input.(jobInput), output.(jobOutput))
	},
	Equal: func(a, b any) bool { return a.(jobState) == b.(jobState) },
	Hash: func(state any) uint64 {
		s := state.(jobState)
		h := fnv.New64a()
		fmt.Fprintf(h, "%t|%t|%s|%d", s.Exists, s.Stop, s.Value, s.Index)
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(jobInput), output.(jobOutput)
		return fmt.Sprintf("%s %s v=%q exp=%d stale=%v -> %d idx=%d v=%q stop=%v",
			in.Kind, in.Job, in.Value, in.Expect, in.Stale, out.Out, out.Index, out.Value, out.Stop)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%+v", state.(jobState)) },
}

// unknownReturn is the return time of an operation whose outcome is
// unknown: after every other operation, so the checker may place it
// anywhere after its call, or nowhere.
const unknownReturn = int64(math.MaxInt64)

// checkHistory runs the checker with a time limit.
func checkHistory(ops []porcupine.Operation, limit time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	return porcupine.CheckOperationsVerbose(jobModel, ops, limit)
}
