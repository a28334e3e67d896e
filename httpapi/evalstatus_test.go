package httpapi_test

import (
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
)

// TestNomadEvalStatusVerbose: what `nomad eval status -verbose` reads from
// an evaluation (Nomad's client asks for ?related=true): the plan
// annotations per group, and the blocked evaluation among the related ones.
func TestNomadEvalStatusVerbose(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	nc := nomadClient(t, c)
	job := nomadJob("evs", 3)
	job.TaskGroups[0].Constraints = []*nomadapi.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "plan9", Operand: "="}}
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval := waitNomadEval(t, nc, resp.EvalID)
	if eval.BlockedEval == "" || eval.FailedTGAllocs["web"] == nil {
		t.Fatalf("an unplaceable group: want failed placements and a blocked eval, got %+v", eval)
	}
	if len(eval.RelatedEvals) != 1 || eval.RelatedEvals[0].ID != eval.BlockedEval || eval.RelatedEvals[0].Status != "blocked" {
		t.Errorf("RelatedEvals = %+v, want the blocked eval %s", eval.RelatedEvals, eval.BlockedEval)
	}
	if pa := eval.PlanAnnotations; pa == nil || pa.DesiredTGUpdates["web"] == nil || pa.DesiredTGUpdates["web"].Place != 3 {
		t.Errorf("PlanAnnotations = %+v, want 3 placements for web", pa)
	}
	// The related evaluations are read on request only, as in Nomad.
	var plain nomadapi.Evaluation
	if _, err := nc.Raw().Query("/v1/evaluation/"+eval.ID, &plain, nil); err != nil || plain.RelatedEvals != nil {
		t.Errorf("without ?related: %+v, %v", plain.RelatedEvals, err)
	}
}
