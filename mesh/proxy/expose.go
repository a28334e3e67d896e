package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// ExposePath is a plaintext listener that forwards exactly one path to a
// local port, so that checks from outside the mesh (the client's HTTP
// checks) reach an application that otherwise only takes mTLS.
type ExposePath struct {
	Path          string
	ListenerPort  int
	LocalPathPort int
}

// exposeHandler forwards requests for p.Path (exactly, query aside) to the
// local port through dialLocal, and answers 404 to every other path.
func exposeHandler(p ExposePath, dialLocal DialFunc, m *metrics) http.Handler {
	target := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", itoa(p.LocalPathPort))}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{
		DialContext:           dialLocal,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConns:          4,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != p.Path {
			http.NotFound(w, r)
			return
		}
		m.exposed.Add(1)
		rp.ServeHTTP(w, r)
	})
}

// newExposeServer is the server of one expose listener.
func newExposeServer(p ExposePath, dialLocal DialFunc, m *metrics) *http.Server {
	return &http.Server{
		Handler:           exposeHandler(p, dialLocal, m),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
}
