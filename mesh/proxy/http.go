package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Protocol is what a listener's traffic is, from the proxy's `protocol`
// (`proxy { config { protocol = "http" } }` for the public listener,
// `upstreams { config { protocol = "http" } }` for an upstream). Bytes
// pass through unchanged whatever it is; with ProtocolHTTP the proxy also
// reads the HTTP/1.1 requests and responses going by, to count them by
// status class and time them.
type Protocol string

const (
	ProtocolTCP   Protocol = "tcp" // the default: L4 only
	ProtocolHTTP  Protocol = "http"
	ProtocolHTTP2 Protocol = "http2" // passed through at L4, not measured
	ProtocolGRPC  Protocol = "grpc"  // passed through at L4, not measured
)

// Protocols lists the known values, ProtocolTCP first.
func Protocols() []Protocol {
	return []Protocol{ProtocolTCP, ProtocolHTTP, ProtocolHTTP2, ProtocolGRPC}
}

// ParseProtocol reads a protocol setting ("" is tcp); unknown is an error.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return ProtocolTCP, nil
	}
	for _, p := range Protocols() {
		if Protocol(strings.ToLower(s)) == p {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown protocol %q (tcp, http, http2 or grpc)", s)
}

func (p Protocol) String() string { return string(p) }

// LatencyBuckets are the upper bounds, in seconds, of the request latency
// histogram: from a millisecond (a request between two proxies on one
// machine) to ten seconds.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// httpMetrics are the L7 counters of one listener.
type httpMetrics struct {
	classes [6]atomic.Int64 // 1xx…5xx at 1…5; anything else at 0
	buckets [numBuckets]atomic.Int64
	count   atomic.Int64
	sumNano atomic.Int64
}

const numBuckets = 13 // len(LatencyBuckets)

// HTTPStats are a listener's HTTP requests by status class ("2xx"…) and
// their latency (from the request's headers to the response's) as a
// histogram: Buckets[i] counts requests of at most LatencyBuckets[i]
// seconds (cumulative, as Prometheus has them).
type HTTPStats struct {
	Requests       map[string]int64
	Buckets        []int64
	Count          int64
	LatencySeconds float64
}

func (h *httpMetrics) observe(code int, d time.Duration) {
	class := code / 100
	if class < 1 || class > 5 {
		class = 0
	}
	h.classes[class].Add(1)
	s := d.Seconds()
	for i, le := range LatencyBuckets {
		if s <= le {
			h.buckets[i].Add(1)
		}
	}
	h.count.Add(1)
	h.sumNano.Add(int64(d))
}

// stats reads the counters; nil when no request was seen.
func (h *httpMetrics) stats() *HTTPStats {
	if h == nil || h.count.Load() == 0 {
		return nil
	}
	st := &HTTPStats{Requests: map[string]int64{}, Buckets: make([]int64, len(LatencyBuckets)),
		Count: h.count.Load(), LatencySeconds: time.Duration(h.sumNano.Load()).Seconds()}
	for i := range h.classes {
		if n := h.classes[i].Load(); n > 0 {
			name := "other"
			if i > 0 {
				name = fmt.Sprintf("%dxx", i)
			}
			st.Requests[name] = n
		}
	}
	for i := range st.Buckets {
		st.Buckets[i] = h.buckets[i].Load()
	}
	return st
}

// maxPipelined bounds the requests awaiting a response on one connection
// that are remembered for timing; past it the connection goes unmeasured.
const maxPipelined = 64

// pending is a request seen and not yet answered.
type pending struct {
	method string
	at     time.Time
}

// httpTap watches one HTTP/1.1 connection from the side: the bytes each
// way are copied to a parser as they pass, which never changes or holds
// them beyond its own reading. Requests and responses are paired in order
// (HTTP/1.1 answers in order). Anything it cannot follow (a parse error,
// an upgrade, CONNECT, too many pipelined requests) ends the measuring of
// that connection, never the connection.
type httpTap struct {
	m       *httpMetrics
	reqW    *io.PipeWriter
	respW   *io.PipeWriter
	queue   chan pending
	stopped atomic.Bool
}

func newHTTPTap(m *httpMetrics) *httpTap {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	t := &httpTap{m: m, reqW: reqW, respW: respW, queue: make(chan pending, maxPipelined)}
	go t.requests(reqR)
	go t.responses(respR)
	return t
}

// requestReader and responseReader wrap the two directions' sources.
func (t *httpTap) requestReader(r io.Reader) io.Reader  { return io.TeeReader(r, tapWriter{t.reqW}) }
func (t *httpTap) responseReader(r io.Reader) io.Reader { return io.TeeReader(r, tapWriter{t.respW}) }

// close ends both parsers once the connection ended.
func (t *httpTap) close() {
	t.reqW.Close()
	t.respW.Close()
}

// tapWriter never fails the copy it rides on: a parser that gave up
// discards what follows.
type tapWriter struct{ w *io.PipeWriter }

func (w tapWriter) Write(b []byte) (int, error) {
	w.w.Write(b)
	return len(b), nil
}

func (t *httpTap) requests(r *io.PipeReader) {
	defer io.Copy(io.Discard, r) // keep the tee flowing after an end
	defer close(t.queue)
	br := bufio.NewReader(r)
	for !t.stopped.Load() {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		select {
		case t.queue <- pending{method: req.Method, at: time.Now()}:
		default:
			t.stopped.Store(true) // too deep a pipeline to follow
			return
		}
		if req.Method == http.MethodConnect || req.Header.Get("Upgrade") != "" {
			return // what follows is not HTTP/1.1 requests
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
	}
}

func (t *httpTap) responses(r *io.PipeReader) {
	defer io.Copy(io.Discard, r)
	br := bufio.NewReader(r)
	for !t.stopped.Load() {
		if _, err := br.Peek(1); err != nil {
			return
		}
		// The request went through the other tap before the server could
		// answer it, so its entry is there or about to be; bytes with no
		// request (a server that speaks first: not HTTP) end the measuring
		// after a moment rather than holding the connection.
		var p pending
		select {
		case q, ok := <-t.queue:
			if !ok {
				return
			}
			p = q
		case <-time.After(time.Second):
			t.stopped.Store(true)
			return
		}
		resp, err := t.response(br, p)
		if err != nil {
			return
		}
		t.m.observe(resp.StatusCode, time.Since(p.at))
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return
		}
	}
}

// response reads p's final response, skipping informational ones (100
// Continue, 103 Early Hints) but not 101, after which the bytes are no
// longer HTTP.
func (t *httpTap) response(br *bufio.Reader, p pending) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: p.method})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// pipeObserved is pipe between the side requests come from (client) and
// the side that answers (server), with the HTTP requests going by counted
// in m when there is one (the listener's protocol is http).
func pipeObserved(client, server net.Conn, m *httpMetrics) (int64, int64) {
	if m == nil {
		return pipe(client, server)
	}
	t := newHTTPTap(m)
	defer t.close()
	return pipeFrom(client, server, t.requestReader(client), t.responseReader(server))
}
