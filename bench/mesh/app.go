package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// sinkMagic starts a TCP throughput connection; anything else is HTTP.
const sinkMagic = "SINK"

// app is the destination: a small Go HTTP server and, on the same port, a
// TCP sink that reads until the sender half-closes and answers with the
// byte count (8 bytes, big endian).
type app struct {
	ln    net.Listener
	http  *http.Server
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func startApp() (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &app{ln: ln, conns: make(chan net.Conn), done: make(chan struct{})}
	body := []byte("hello from the mesh\n")
	a.http = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})}
	go a.http.Serve(chanListener{a})
	go a.accept()
	return a, nil
}

func (a *app) addr() string { return a.ln.Addr().String() }

func (a *app) close() {
	a.ln.Close()
	a.once.Do(func() { close(a.done) })
	a.http.Close()
}

func (a *app) accept() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		go a.route(c)
	}
}

// route peeks at the first bytes: the sink's magic, or HTTP.
func (a *app) route(c net.Conn) {
	br := bufio.NewReader(c)
	head, err := br.Peek(len(sinkMagic))
	if err != nil {
		c.Close()
		return
	}
	pc := &peeked{Conn: c, r: br}
	if string(head) == sinkMagic {
		sink(pc)
		return
	}
	select {
	case a.conns <- pc:
	case <-a.done:
		c.Close()
	}
}

func sink(c *peeked) {
	defer c.Close()
	n, _ := io.Copy(io.Discard, c)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n-int64(len(sinkMagic))))
	_, _ = c.Write(b[:])
}

// peeked is a connection whose first bytes sit in a bufio.Reader.
type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

// chanListener hands the HTTP connections to http.Server.
type chanListener struct{ a *app }

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.a.conns:
		return c, nil
	case <-l.a.done:
		return nil, net.ErrClosed
	}
}
func (l chanListener) Close() error   { return nil }
func (l chanListener) Addr() net.Addr { return l.a.ln.Addr() }
