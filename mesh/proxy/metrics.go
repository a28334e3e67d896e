package proxy

import "sync/atomic"

// metrics are one proxy's counters: connections, bytes, handshakes, errors
// and denials, per listener kind. Stats reads them.
type metrics struct {
	inboundConns, upstreamConns     atomic.Int64
	inboundBytes, upstreamBytes     atomic.Int64
	handshakes, handshakeErrors     atomic.Int64
	denied, upstreamErrors, exposed atomic.Int64
	// refused: inbound connections refused for an InboundLimits cap;
	// idleClosed: closed for the idle timeout.
	refused, idleClosed atomic.Int64
}

// Stats is a reading of a proxy's counters; Upstreams breaks the upstream
// ones down by destination.
type Stats struct {
	InboundConns, UpstreamConns int64
	InboundBytes, UpstreamBytes int64
	Handshakes, HandshakeErrors int64
	Denied, UpstreamErrors      int64
	ExposeRequests              int64
	// InboundRefused are inbound connections refused for a cap of
	// Config.Inbound, InboundIdleClosed those closed for its idle
	// timeout.
	InboundRefused, InboundIdleClosed int64
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

func (m *metrics) handshake()      { m.handshakes.Add(1) }
func (m *metrics) handshakeError() { m.handshakeErrors.Add(1) }

func (m *metrics) stats() Stats {
	return Stats{
		InboundConns: m.inboundConns.Load(), UpstreamConns: m.upstreamConns.Load(),
		InboundBytes: m.inboundBytes.Load(), UpstreamBytes: m.upstreamBytes.Load(),
		Handshakes: m.handshakes.Load(), HandshakeErrors: m.handshakeErrors.Load(),
		Denied: m.denied.Load(), UpstreamErrors: m.upstreamErrors.Load(), ExposeRequests: m.exposed.Load(),
		InboundRefused: m.refused.Load(), InboundIdleClosed: m.idleClosed.Load(),
	}
}
