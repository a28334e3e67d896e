package httpapi

import (
	"net/http"
	"strings"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// systemGC: PUT /v1/system/gc collects now what the periodic collection
// would collect later.
func (h *handlers) systemGC(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.system(w, r, structs.MethodSystemGarbageCollect)
}

// systemReconcileSummaries: PUT /v1/system/reconcile/summaries.
func (h *handlers) systemReconcileSummaries(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.system(w, r, structs.MethodSystemReconcileJobSummaries)
}

func (h *handlers) system(w http.ResponseWriter, r *http.Request, method string) (any, error) {
	var args structs.SystemRequest
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(method, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}

// roamScheduler is the scheduler configuration roam runs with: bin packing,
// no preemption, memory_max honoured (oversubscription), registration and
// the broker always on. It is fixed: roam has no other algorithm or mode.
func roamScheduler() *api.SchedulerConfiguration {
	return &api.SchedulerConfiguration{SchedulerAlgorithm: "binpack", MemoryOversubscriptionEnabled: true}
}

// schedulerConfig: GET /v1/operator/scheduler/configuration.
func (h *handlers) schedulerConfig(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.JobListRequest
	args.PerPage = 1
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.JobListResponse
	if err := h.rpc.RPC(structs.MethodJobList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return &api.SchedulerConfigurationResponse{
		SchedulerConfig: roamScheduler(), Index: out.Index, KnownLeader: out.KnownLeader,
	}, nil
}

// schedulerSetConfig: PUT /v1/operator/scheduler/configuration accepts the
// configuration roam runs with and refuses, naming them, settings roam does
// not have (rather than storing what it would not act on).
func (h *handlers) schedulerSetConfig(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.SchedulerConfiguration
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	want := roamScheduler()
	var bad []string
	if body.SchedulerAlgorithm != "" && body.SchedulerAlgorithm != want.SchedulerAlgorithm {
		bad = append(bad, "scheduler_algorithm "+body.SchedulerAlgorithm+" (roam bin-packs)")
	}
	if body.PreemptionConfig != want.PreemptionConfig {
		bad = append(bad, "preemption (roam does not preempt allocations)")
	}
	if !body.MemoryOversubscriptionEnabled {
		bad = append(bad, "memory_oversubscription_enabled = false (roam always honours memory_max)")
	}
	if body.RejectJobRegistration {
		bad = append(bad, "reject_job_registration")
	}
	if body.PauseEvalBroker {
		bad = append(bad, "pause_eval_broker")
	}
	if len(bad) > 0 {
		return nil, badRequest("roam's scheduler does not support: %s", strings.Join(bad, "; "))
	}
	return &api.SchedulerSetConfigurationResponse{Updated: true}, nil
}
