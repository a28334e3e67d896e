package e2e

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestJobModel: the chaos suite's model accepts the histories a
// linearizable job store can produce and refuses the ones it cannot (a
// stale read, two cas writes on one index, a lost write), so a "yes" from
// the suite means something.
func TestJobModel(t *testing.T) {
	reg := func(v string) jobInput { return jobInput{Kind: opRegister, Job: "j", Value: v} }
	cas := func(v string, exp uint64) jobInput { return jobInput{Kind: opCAS, Job: "j", Value: v, Expect: exp} }
	read := jobInput{Kind: opRead, Job: "j"}
	ok := func(idx uint64) jobOutput { return jobOutput{Out: outOK, Index: idx} }
	saw := func(v string, idx uint64) jobOutput { return jobOutput{Out: outOK, Value: v, Index: idx} }
	op := func(in jobInput, call, ret int64, out jobOutput) porcupine.Operation {
		return porcupine.Operation{Input: in, Call: call, Return: ret, Output: out}
	}
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"write then read", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(read, 2, 3, saw("a", 10)),
		}, porcupine.Ok},
		{"read misses an acknowledged write", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(reg("b"), 2, 3, ok(11)), op(read, 4, 5, saw("a", 10)),
		}, porcupine.Illegal},
		{"read concurrent with the write may see either", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(reg("b"), 2, 5, ok(11)), op(read, 3, 4, saw("a", 10)),
		}, porcupine.Ok},
		{"two cas writes on one index both succeed", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(cas("b", 10), 2, 5, ok(11)), op(cas("c", 10), 2, 5, ok(12)),
		}, porcupine.Illegal},
		{"cas refused although the index matched", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(cas("b", 10), 2, 3, jobOutput{Out: outRefused}),
		}, porcupine.Illegal},
		{"write of unknown outcome seen later", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(reg("b"), 2, unknownReturn, jobOutput{Out: outUnknown}),
			op(read, 3, 4, saw("b", 12)), op(cas("c", 12), 5, 6, ok(13)),
		}, porcupine.Ok},
		{"write of unknown outcome never seen", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(reg("b"), 2, unknownReturn, jobOutput{Out: outUnknown}),
			op(read, 3, 4, saw("a", 10)),
		}, porcupine.Ok},
		{"cas of unknown outcome whose index never matched", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(cas("b", 0), 2, unknownReturn, jobOutput{Out: outUnknown}),
			op(read, 3, 4, saw("a", 10)),
		}, porcupine.Ok},
		{"stop, then a read sees it stopped", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(jobInput{Kind: opStop, Job: "j"}, 2, 3, ok(11)),
			op(read, 4, 5, jobOutput{Out: outOK, Value: "a", Index: 11, Stop: true}),
		}, porcupine.Ok},
		{"read finds nothing after a write", []porcupine.Operation{
			op(reg("a"), 0, 1, ok(10)), op(read, 2, 3, jobOutput{Out: outNotFound}),
		}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := checkHistory(tc.ops, 10*time.Second); got != tc.want {
				t.Fatalf("checker says %s, want %s", got, tc.want)
			}
		})
	}
}
