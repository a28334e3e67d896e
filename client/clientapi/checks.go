package clientapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
)

// allocChecks: GET /v1/client/allocation/:id/checks, the latest result of
// each of the allocation's service checks, as Nomad answers it.
func (h *Handler) allocChecks(w http.ResponseWriter, r *http.Request) {
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, checkStatuses(ar.CheckStates()))
}

func checkStatuses(states []checks.State) api.AllocCheckStatuses {
	out := api.AllocCheckStatuses{}
	for _, s := range states {
		c := s.Check
		st := api.AllocCheckStatus{
			ID: c.ID, Check: c.Def.Name, Group: c.Group, Task: c.Task, Service: c.Service,
			Mode: api.CheckModeHealthiness, Status: api.CheckStatusPending, Health: s.Status.String(),
			Output: s.Last.Output, StatusCode: s.Last.StatusCode,
		}
		if c.Mode() == structs.OnUpdateIgnore {
			st.Mode = api.CheckModeReadiness
		}
		if !s.Last.Time.IsZero() {
			st.Timestamp = s.Last.Time.Unix()
			st.Status = api.CheckStatusFailure
			if s.Last.Status == structs.HealthPassing {
				st.Status = api.CheckStatusSuccess
			}
		}
		out[c.ID] = st
	}
	return out
}
