package proxy

import "sync/atomic"

// metrics are one proxy's counters: connections, bytes, handshakes, errors
// and denials, per listener kind. Stats reads them.
type metrics struct {
	inboundConns, upstreamConns     atomic.Int64
	inboundBytes, upstreamBytes     atomic.Int64
	handshakes, resumed             atomic.Int64
	handshakeErrors                 atomic.Int64
	denied, upstreamErrors, exposed atomic.Int64
}

// Stats is a reading of a proxy's counters; Upstreams breaks the upstream
// ones down by destination.
type Stats struct {
	InboundConns, UpstreamConns int64
	InboundBytes, UpstreamBytes int64
	// Handshakes are the full TLS handshakes (failed ones included),
	// ResumedHandshakes those that resumed an earlier session: a
	// connection between two roam proxies after the first to that
	// address resumes.
	Handshakes, ResumedHandshakes, HandshakeErrors int64
	Denied, UpstreamErrors                         int64
	ExposeRequests                                 int64
	// HTTP are the inbound requests when the service's protocol is http.
	HTTP      *HTTPStats               `json:",omitempty"`
	Upstreams map[string]UpstreamStats `json:",omitempty"`
}

// UpstreamStats are one upstream's counters (HTTP when its protocol is
// http).
type UpstreamStats struct {
	Conns, Bytes, Errors int64
	HTTP                 *HTTPStats `json:",omitempty"`
}

// upstreamMetrics are one upstream's counters, beside the proxy's totals.
type upstreamMetrics struct {
	conns, bytes, errors atomic.Int64
}

// handshakeDone counts a finished handshake, full or resumed.
func (m *metrics) handshakeDone(resumed bool) {
	if resumed {
		m.resumed.Add(1)
		return
	}
	m.handshakes.Add(1)
}

// handshakeFailed counts a failed handshake; whether it tried to resume
// is not known, so it counts as a full one.
func (m *metrics) handshakeFailed() {
	m.handshakes.Add(1)
	m.handshakeErrors.Add(1)
}

func (m *metrics) stats() Stats {
	return Stats{
		InboundConns: m.inboundConns.Load(), UpstreamConns: m.upstreamConns.Load(),
		InboundBytes: m.inboundBytes.Load(), UpstreamBytes: m.upstreamBytes.Load(),
		Handshakes: m.handshakes.Load(), ResumedHandshakes: m.resumed.Load(), HandshakeErrors: m.handshakeErrors.Load(),
		Denied: m.denied.Load(), UpstreamErrors: m.upstreamErrors.Load(), ExposeRequests: m.exposed.Load(),
	}
}
