//go:build !linux

package proxy

import (
	"net"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT does not exist; the
// keepalive probes and the mux ping still notice a dead peer.
func setUserTimeout(*net.TCPConn, time.Duration) error { return nil }
