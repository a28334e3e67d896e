package httpapi

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Client endpoints and forwarding. A request about an allocation
// (/v1/client/fs/<op>/<alloc>, /v1/client/allocation/<alloc>/<op>) is
// served by this agent's client when it runs the allocation; otherwise the
// agent looks the allocation up on the servers and proxies the request to
// the HTTP API of its node (Node.HTTPAddr):
//
//	CLI ──► any agent ──(not mine)──► Alloc.GetAlloc, Node.GetNode
//	                   └──reverse proxy──► node's agent ──► its client
//
// The proxy streams (logs and file streams are flushed as they come) and
// carries the exec websocket's upgrade. A forwarded request is marked with
// headerForwarded and never forwarded again, so a stale node address cannot
// make a loop.

// headerForwarded marks a request one agent forwarded to another.
const headerForwarded = "X-Roam-Forwarded"

// proxyDialTimeout bounds connecting to another node's agent.
const proxyDialTimeout = 10 * time.Second

func newProxyTransport(tlsConf *tls.Config) http.RoundTripper {
	return &http.Transport{
		TLSClientConfig:       tlsConf,
		DialContext:           (&net.Dialer{Timeout: proxyDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // streams and websockets stay open
	}
}

// clientAPI: /v1/client/... paths about no particular allocation (gc) are
// the local client's; 501 on an agent without one.
func (h *handlers) clientAPI(w http.ResponseWriter, r *http.Request) {
	if h.client == nil {
		writeError(w, http.StatusNotImplemented, "client endpoints not available on this agent")
		return
	}
	h.client.ServeHTTP(w, r)
}

// allocChecks: GET /v1/allocation/:id/checks is the client's
// /v1/client/allocation/:id/checks under another name.
func (h *handlers) allocChecks(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("alloc")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v1/client/allocation/" + id + "/checks"
	r2.URL.RawPath = ""
	r2.SetPathValue("alloc", id)
	h.clientAlloc(w, r2)
}

// clientAlloc serves or forwards a request about one allocation.
func (h *handlers) clientAlloc(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("alloc")
	if h.client != nil && h.client.HasAlloc(id) {
		h.client.ServeHTTP(w, r)
		return
	}
	if r.Header.Get(headerForwarded) != "" {
		writeError(w, http.StatusNotFound, "alloc not found")
		return
	}
	node, err := h.allocNode(r, id)
	if err != nil {
		writeError(w, statusCode(err), errorMessage(err))
		return
	}
	h.forward(w, r, node)
}

// allocNode finds the node running the allocation and checks it can be
// reached.
func (h *handlers) allocNode(r *http.Request, allocID string) (*structs.Node, error) {
	areq := structs.AllocSpecificRequest{AllocID: allocID}
	if err := parseQuery(r, &areq.QueryOptions); err != nil {
		return nil, err
	}
	var aresp structs.SingleAllocResponse
	if err := h.rpc.RPC(structs.MethodAllocGetAlloc, &areq, &aresp); err != nil {
		return nil, err
	}
	if aresp.Alloc == nil {
		return nil, notFound("alloc")
	}
	nreq := structs.NodeSpecificRequest{NodeID: aresp.Alloc.NodeID, QueryOptions: structs.QueryOptions{Region: areq.Region}}
	var nresp structs.SingleNodeResponse
	if err := h.rpc.RPC(structs.MethodNodeGetNode, &nreq, &nresp); err != nil {
		return nil, err
	}
	n := nresp.Node
	switch {
	case n == nil:
		return nil, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("node %s of the allocation not found", aresp.Alloc.NodeID)}
	case n.Status == structs.NodeStatusDown:
		return nil, &httpError{code: http.StatusBadGateway, msg: fmt.Sprintf("node %s running the allocation is down", n.ID)}
	case n.HTTPAddr == "":
		return nil, &httpError{code: http.StatusBadGateway, msg: fmt.Sprintf("node %s has no HTTP address to forward to", n.ID)}
	}
	return n, nil
}

// forward proxies the request to the node's agent.
func (h *handlers) forward(w http.ResponseWriter, r *http.Request, n *structs.Node) {
	target := &url.URL{Scheme: "http", Host: n.HTTPAddr}
	if h.forwardHTTPS {
		target.Scheme = "https"
	}
	// The node's agent sets its own metadata headers.
	for _, k := range []string{headerIndex, headerKnownLeader, headerLastContact} {
		w.Header().Del(k)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwarded, "1")
			// This agent judged the browser headers (browsers.go); the
			// node's agent, reached under another host, would take its own
			// UI's requests for cross-site ones.
			for _, k := range []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User"} {
				pr.Out.Header.Del(k)
			}
		},
		Transport:     h.proxy,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the caller went away
			}
			h.logger.Warn("forwarding client request", "node_id", n.ID, "addr", n.HTTPAddr, "path", r.URL.Path, "error", err)
			writeError(w, http.StatusBadGateway, fmt.Sprintf("forward to node %s at %s: %v", n.ID, n.HTTPAddr, err))
		},
	}
	proxy.ServeHTTP(w, r)
}
