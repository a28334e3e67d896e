package httpapi

import "net/http"

// clientAPI: /v1/client/... is handed to Config.Client when the agent has
// one; otherwise 501.
func (h *handlers) clientAPI(w http.ResponseWriter, r *http.Request) {
	if h.client == nil {
		writeError(w, http.StatusNotImplemented, "client endpoints not available on this agent")
		return
	}
	h.client.ServeHTTP(w, r)
}
