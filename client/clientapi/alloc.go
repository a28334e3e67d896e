package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers"
)

// restartTimeout bounds how long a restart request waits for the old
// processes to exit (kill_timeout is capped well below it).
const restartTimeout = 2 * time.Minute

// Measured fields of drivers.TaskResourceUsage.
var (
	memoryMeasured = []string{"RSS"}
	cpuMeasured    = []string{"Percent", "Total Ticks"}
)

// allocStats: GET /v1/client/allocation/:id/stats.
func (h *Handler) allocStats(w http.ResponseWriter, r *http.Request) {
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, allocUsage(ar.TaskStats(r.Context()), time.Now()))
}

// allocUsage sums the tasks' usage into Nomad's AllocResourceUsage.
func allocUsage(tasks map[string]*drivers.TaskResourceUsage, now time.Time) *api.AllocResourceUsage {
	out := &api.AllocResourceUsage{
		ResourceUsage: usage(&drivers.TaskResourceUsage{}),
		Tasks:         map[string]*api.TaskResourceUsage{}, Timestamp: now.UnixNano(),
	}
	for name, u := range tasks {
		tu := &api.TaskResourceUsage{ResourceUsage: usage(u), Timestamp: u.Timestamp, Pids: map[string]*api.ResourceUsage{}}
		for pid, pu := range u.Pids {
			tu.Pids[pid] = usage(pu)
		}
		out.Tasks[name] = tu
		sum := out.ResourceUsage
		sum.MemoryStats.RSS += u.MemoryRSSBytes
		sum.CpuStats.Percent += u.CPUPercent
		sum.CpuStats.TotalTicks += u.CPUTotalTicks
	}
	return out
}

func usage(u *drivers.TaskResourceUsage) *api.ResourceUsage {
	return &api.ResourceUsage{
		MemoryStats: &api.MemoryStats{RSS: u.MemoryRSSBytes, Measured: memoryMeasured},
		CpuStats:    &api.CpuStats{Percent: u.CPUPercent, TotalTicks: u.CPUTotalTicks, Measured: cpuMeasured},
	}
}

// decodeBody reads an optional JSON body into v.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return badRequest("decode body: " + err.Error())
	}
	return nil
}

// allocRestart: PUT /v1/client/allocation/:id/restart {TaskName, AllTasks}.
func (h *Handler) allocRestart(w http.ResponseWriter, r *http.Request) {
	var req api.AllocRestartRequest
	if err := decodeBody(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.TaskName != "" && req.AllTasks {
		h.writeError(w, r, badRequest("give TaskName or AllTasks, not both"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), restartTimeout)
	defer cancel()
	if err := ar.RestartTasks(ctx, req.TaskName, req.AllTasks); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, struct{}{})
}

// allocSignal: PUT /v1/client/allocation/:id/signal {Task, Signal}; the
// signal defaults to SIGKILL, as Nomad's does.
func (h *Handler) allocSignal(w http.ResponseWriter, r *http.Request) {
	var req api.AllocSignalRequest
	if err := decodeBody(r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Signal == "" {
		req.Signal = "SIGKILL"
	}
	if _, err := drivers.ParseSignal(req.Signal, 0); err != nil {
		h.writeError(w, r, badRequest(err.Error()))
		return
	}
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := ar.Signal(req.Task, req.Signal); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, struct{}{})
}

// allocGC: /v1/client/allocation/:id/gc destroys a terminal allocation's
// directory now.
func (h *Handler) allocGC(w http.ResponseWriter, r *http.Request) {
	c, ok := h.cfg.Allocs.(Collector)
	if !ok {
		h.writeError(w, r, &apiError{http.StatusNotImplemented, "garbage collection not available"})
		return
	}
	if _, err := h.allocRunner(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := c.CollectAlloc(r.PathValue("alloc")); err != nil {
		h.writeError(w, r, badRequest(err.Error()))
		return
	}
	writeJSON(w, struct{}{})
}

// clientGC: /v1/client/gc destroys every terminal allocation's directory.
func (h *Handler) clientGC(w http.ResponseWriter, r *http.Request) {
	c, ok := h.cfg.Allocs.(Collector)
	if !ok {
		h.writeError(w, r, &apiError{http.StatusNotImplemented, "garbage collection not available"})
		return
	}
	if err := c.CollectAll(); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, struct{}{})
}
