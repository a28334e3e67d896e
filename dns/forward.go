package dns

import (
	"context"
	"errors"
	"log/slog"
	"time"

	mdns "github.com/miekg/dns"
)

// errForwardBusy: the bound on forwarded queries in flight is reached.
var errForwardBusy = errors.New("too many forwarded queries in flight")

// errNoRecursor: no recursor answered.
var errNoRecursor = errors.New("no recursor answered")

// forwarder sends names outside the server's zones to the recursors, in
// order, over the protocol the client used (a truncated UDP answer stays
// truncated, so the client retries over TCP and so do we).
type forwarder struct {
	recursors []string
	timeout   time.Duration
	// slots bounds forwards in flight: each holds a goroutine and a socket
	// for up to timeout per recursor, so an unbounded flood of queries for
	// slow names would exhaust the agent.
	slots  chan struct{}
	logger *slog.Logger
}

func newForwarder(recursors []string, timeout time.Duration, max int, logger *slog.Logger) *forwarder {
	return &forwarder{recursors: recursors, timeout: timeout, slots: make(chan struct{}, max), logger: logger}
}

// forward exchanges r with the recursors and returns the first answer.
func (f *forwarder) forward(ctx context.Context, r *mdns.Msg, network string) (*mdns.Msg, error) {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		return nil, errForwardBusy
	}
	c := &mdns.Client{Net: network, Timeout: f.timeout}
	if network == "udp" {
		// Accept an answer as large as the client may take.
		c.UDPSize = mdns.MaxMsgSize
	}
	var errs []error
	for _, addr := range f.recursors {
		resp, _, err := c.ExchangeContext(ctx, r, addr)
		if err == nil && resp != nil {
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	f.logger.Debug("forward failed", "name", r.Question[0].Name, "error", errors.Join(errs...))
	return nil, errNoRecursor
}
