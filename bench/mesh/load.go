package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	keepAliveReq = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
	closeReq     = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
)

// httpConn is one client connection of the load generator: a request
// written by hand and the answer read with net/http's parser, so the
// generator costs little beside what it measures.
type httpConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialHTTP(addr string) (*httpConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &httpConn{c: c, br: bufio.NewReader(c)}, nil
}

func (h *httpConn) do(req string) error {
	if _, err := io.WriteString(h.c, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return err
}

// result is a closed-loop run: requests done, failures and time taken.
type result struct {
	n, errs int64
	took    time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.took.Seconds() }

// keepAlive is a closed loop over conns keep-alive connections: each sends
// its next request as soon as the last answer arrived.
func keepAlive(addr string, conns int, d time.Duration) (result, error) {
	hs := make([]*httpConn, 0, conns)
	defer func() {
		for _, h := range hs {
			h.c.Close()
		}
	}()
	for range conns {
		h, err := dialHTTP(addr)
		if err != nil {
			return result{}, err
		}
		hs = append(hs, h)
	}
	return closedLoop(conns, d, func(i int) error { return hs[i].do(keepAliveReq) })
}

// newConnPerRequest is a closed loop where every request dials, asks with
// Connection: close and closes.
func newConnPerRequest(addr string, conns int, d time.Duration) (result, error) {
	return closedLoop(conns, d, func(int) error {
		h, err := dialHTTP(addr)
		if err != nil {
			return err
		}
		defer h.c.Close()
		return h.do(closeReq)
	})
}

func closedLoop(workers int, d time.Duration, one func(i int) error) (result, error) {
	var n, errs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := one(i); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	r := result{n: n.Load(), errs: errs.Load(), took: time.Since(start)}
	if e, ok := firstErr.Load().(error); ok {
		return r, fmt.Errorf("%d of %d workers failed, first: %w", r.errs, workers, e)
	}
	return r, nil
}

// throughput sends bytes over one TCP connection for d, half-closes and
// reads the count the sink received; MB/s (10^6) of what arrived.
func throughput(addr string, d time.Duration) (float64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, sinkMagic); err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	start := time.Now()
	for deadline := start.Add(d); time.Now().Before(deadline); {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	var got [8]byte
	if _, err := io.ReadFull(c, got[:]); err != nil {
		return 0, fmt.Errorf("read the sink's count: %w", err)
	}
	took := time.Since(start)
	return float64(binary.BigEndian.Uint64(got[:])) / took.Seconds() / 1e6, nil
}

// latencies is an open loop: requests are due every 1/rate, whether or
// not earlier ones have answered, spread over conns keep-alive
// connections; each latency counts from when the request was due, so a
// stall is charged to every request it delays (no coordinated omission).
func latencies(addr string, rate, conns int, d time.Duration) ([]time.Duration, error) {
	total := int(d.Seconds() * float64(rate))
	due := make(chan time.Time, total)
	out := make([]time.Duration, 0, total)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range conns {
		h, err := dialHTTP(addr)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer h.c.Close()
			for t := range due {
				err := h.do(keepAliveReq)
				took := time.Since(t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out = append(out, took)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range total {
		t := start.Add(time.Duration(i) * interval)
		if w := time.Until(t); w > 0 {
			time.Sleep(w) // pacing the open loop, not synchronisation
		}
		due <- t
	}
	close(due)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(out)
	return out, nil
}

// quantile is the nearest-rank q-quantile of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
