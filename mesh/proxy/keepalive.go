package proxy

import (
	"net"
	"time"
)

// The kernel's share of noticing a dead peer, on the TCP connections
// between proxies (both the dialling and the accepting side). The mux
// session's ping (mux.go) covers what these cannot see: a peer whose
// kernel still ACKs while its proxy is stopped.
const (
	// tcpUserTimeout aborts a connection whose sent data stays
	// unacknowledged this long (TCP_USER_TIMEOUT): a host that vanished
	// mid-transfer is noticed in seconds instead of after ~15 minutes of
	// retransmissions. Ten seconds outlasts any retransmission a healthy
	// network needs (the first RTOs are 200 ms, 400 ms, ...).
	tcpUserTimeout = 10 * time.Second
	// tcpKeepIdle, tcpKeepInterval and tcpKeepCount probe an idle
	// connection (where no data waits for an ACK, so the user timeout never
	// starts): a vanished peer of an idle session is noticed after about
	// 20 s (with TCP_USER_TIMEOUT set, the kernel aborts at the first
	// probe that finds the peer silent for longer than it) rather than
	// after the kernel's default of two hours.
	tcpKeepIdle     = 15 * time.Second
	tcpKeepInterval = 5 * time.Second
	tcpKeepCount    = 3
)

// tuneTCP sets keepalive probes and the user timeout on c when it is a
// TCP connection; anything else (a test's wrapper) is left alone, and a
// failure only costs the faster detection, so it is not an error.
func tuneTCP(c net.Conn) {
	if w, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = w.NetConn() // the public listener's per-peer cap wraps it
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: tcpKeepIdle, Interval: tcpKeepInterval, Count: tcpKeepCount})
	setUserTimeout(tc, tcpUserTimeout)
}
