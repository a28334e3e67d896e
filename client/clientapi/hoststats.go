package clientapi

import "net/http"

// hostStats: GET /v1/client/stats, read on each request (Nomad's CLI calls
// it once per `node status`); CPU percentages cover the time since the
// previous request, so no sampler runs in the background.
func (h *Handler) hostStats(w http.ResponseWriter, r *http.Request) {
	var total int64
	if h.cfg.TotalCPUMHz != nil {
		total = h.cfg.TotalCPUMHz()
	}
	writeJSON(w, h.host.Collect(h.cfg.AllocDir, total))
}
