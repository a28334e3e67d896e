package clientapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/roam-sh/roam/netns/doctor"
)

// doctorMaxAge is how long one run of the host check answers requests: a
// run creates and deletes a throwaway namespace, bridge and veths, so page
// views and scripts must not make the agent repeat it back to back.
const doctorMaxAge = 30 * time.Second

// doctorCache runs the host check at most once per doctorMaxAge, one run
// at a time, whatever the number of requests.
type doctorCache struct {
	mu     sync.Mutex
	run    func() []doctor.Check
	at     time.Time
	checks []doctor.Check
}

func (d *doctorCache) get() []doctor.Check {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.checks == nil || time.Since(d.at) > doctorMaxAge {
		d.checks, d.at = d.run(), time.Now()
	}
	return d.checks
}

// nodeDoctor: GET /v1/client/doctor, what `roam node doctor` finds on this
// client's host, as JSON ([{name, status, detail, fix}]).
func (h *Handler) nodeDoctor(w http.ResponseWriter, r *http.Request) {
	if h.doctor == nil {
		h.writeError(w, r, &apiError{http.StatusNotImplemented, "this agent runs no host check"})
		return
	}
	writeJSON(w, h.doctor.get())
}
