package checks_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// namespace creates a network namespace for the test (loopback up) and
// deletes it after: the servers the checks probe listen only there.
func namespace(t *testing.T) string {
	t.Helper()
	nstest.RequireRoot(t)
	path := netns.NamedPath("rck" + nstest.RandHex(4))
	if _, err := netns.Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(path); err != nil {
			t.Error(err)
		}
	})
	return path
}

// listen opens a TCP listener on 127.0.0.1 inside the namespace.
func listen(t *testing.T, ns string) net.Listener {
	t.Helper()
	ln, err := netns.Listen(context.Background(), ns, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// app is an HTTP server inside a namespace whose answer the test sets.
type app struct {
	code atomic.Int32
	last atomic.Pointer[http.Request]
	body atomic.Pointer[string]
	addr string
}

func startApp(t *testing.T, ns string, tlsOn bool) *app {
	a := &app{}
	a.code.Store(200)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved": // to the check's own address: followed
			http.Redirect(w, r, "/health", http.StatusFound)
			return
		case "/away": // elsewhere: not followed (nothing listens there anyway)
			http.Redirect(w, r, "http://192.0.2.1:1/", http.StatusFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		a.body.Store(&s)
		a.last.Store(r)
		w.WriteHeader(int(a.code.Load()))
		fmt.Fprintf(w, "answer %d", a.code.Load())
	}))
	srv.Listener.Close()
	srv.Listener = listen(t, ns)
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	a.addr = srv.Listener.Addr().String()
	return a
}

// probeOnce runs c through a runner until its first result.
func probeOnce(t *testing.T, c *checks.Check) checks.Result {
	t.Helper()
	r := checks.NewRunner(testutil.Context(t), checks.Config{Logger: testutil.Logger(t)})
	defer r.Stop()
	if c.ID == "" {
		c.ID = "c1"
	}
	r.Set([]*checks.Check{c})
	var res checks.Result
	testutil.WaitFor(t, 10*time.Second, func() error {
		st := r.States()
		if len(st) != 1 || st[0].Last.Time.IsZero() {
			return fmt.Errorf("no result yet")
		}
		res = st[0].Last
		return nil
	})
	return res
}

func TestHTTPProbeInsideNamespace(t *testing.T) {
	ns := namespace(t)
	a := startApp(t, ns, false)
	check := func(def structs.ServiceCheck) checks.Result {
		def.Type, def.Interval = structs.CheckTypeHTTP, time.Hour
		return probeOnce(t, &checks.Check{Def: &def, Address: a.addr, Dial: netns.Dialer(ns, nil)})
	}
	for _, tc := range []struct {
		code int
		want structs.HealthStatus
	}{{200, structs.HealthPassing}, {204, structs.HealthPassing}, {429, structs.HealthWarning}, {500, structs.HealthCritical}, {404, structs.HealthCritical}, {301, structs.HealthCritical}} {
		a.code.Store(int32(tc.code))
		r := check(structs.ServiceCheck{Path: "/health"})
		if r.Status != tc.want || r.StatusCode != tc.code {
			t.Errorf("answer %d: status %s code %d, want %s (output %q)", tc.code, r.Status, r.StatusCode, tc.want, r.Output)
		}
	}
	a.code.Store(200)
	r := check(structs.ServiceCheck{Path: "/p?x=1", Method: "POST", Body: `{"ping":1}`,
		Header: map[string][]string{"X-Probe": {"a", "b"}, "Host": {"svc.example"}}})
	if r.Status != structs.HealthPassing {
		t.Fatalf("POST: %s %s", r.Status, r.Output)
	}
	got := a.last.Load()
	if got.Method != "POST" || got.URL.Path != "/p" || got.URL.RawQuery != "x=1" || got.Host != "svc.example" ||
		strings.Join(got.Header.Values("X-Probe"), ",") != "a,b" || *a.body.Load() != `{"ping":1}` {
		t.Fatalf("request seen by the app: %s %s host %q headers %v body %q", got.Method, got.URL, got.Host, got.Header, *a.body.Load())
	}
	if !strings.Contains(r.Output, "answer 200") {
		t.Fatalf("output %q does not carry the body", r.Output)
	}
	if r := check(structs.ServiceCheck{Path: "/moved"}); r.Status != structs.HealthPassing || a.last.Load().URL.Path != "/health" {
		t.Fatalf("redirect to the same address: %s %d %q", r.Status, r.StatusCode, r.Output)
	}
	if r := check(structs.ServiceCheck{Path: "/away"}); r.Status != structs.HealthCritical || r.StatusCode != http.StatusFound {
		t.Fatalf("redirect elsewhere: %s %d %q", r.Status, r.StatusCode, r.Output)
	}
	// The app listens only inside the namespace: from the host the same
	// check cannot reach it.
	def := structs.ServiceCheck{Type: structs.CheckTypeHTTP, Path: "/", Interval: time.Hour, Timeout: time.Second}
	if r := probeOnce(t, &checks.Check{Def: &def, Address: a.addr}); r.Status == structs.HealthPassing && strings.Contains(r.Output, "answer") {
		t.Fatalf("the app answered from the host: %q", r.Output)
	}
}

func TestHTTPSProbe(t *testing.T) {
	ns := namespace(t)
	a := startApp(t, ns, true)
	check := func(skip bool) checks.Result {
		def := structs.ServiceCheck{Type: structs.CheckTypeHTTP, Protocol: "https", Path: "/", TLSSkipVerify: skip, Interval: time.Hour}
		return probeOnce(t, &checks.Check{Def: &def, Address: a.addr, Dial: netns.Dialer(ns, nil)})
	}
	if r := check(true); r.Status != structs.HealthPassing {
		t.Fatalf("https with tls_skip_verify: %s %s", r.Status, r.Output)
	}
	if r := check(false); r.Status != structs.HealthCritical || !strings.Contains(r.Output, "certificate") {
		t.Fatalf("https with an unknown certificate: %s %s", r.Status, r.Output)
	}
}

func TestTCPProbe(t *testing.T) {
	ns := namespace(t)
	ln := listen(t, ns)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	def := structs.ServiceCheck{Type: structs.CheckTypeTCP, Interval: time.Hour}
	if r := probeOnce(t, &checks.Check{Def: &def, Address: ln.Addr().String(), Dial: netns.Dialer(ns, nil)}); r.Status != structs.HealthPassing {
		t.Fatalf("listening: %s %s", r.Status, r.Output)
	}
	addr := ln.Addr().String()
	ln.Close()
	if r := probeOnce(t, &checks.Check{Def: &def, Address: addr, Dial: netns.Dialer(ns, nil)}); r.Status != structs.HealthCritical {
		t.Fatalf("closed: %s %s", r.Status, r.Output)
	}
}

func TestGRPCProbe(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", useTLS), func(t *testing.T) {
			ns := namespace(t)
			ln := listen(t, ns)
			var opts []grpc.ServerOption
			if useTLS {
				opts = append(opts, grpc.Creds(selfSigned(t)))
			}
			srv := grpc.NewServer(opts...)
			hs := health.NewServer()
			healthpb.RegisterHealthServer(srv, hs)
			hs.SetServingStatus("app.v1", healthpb.HealthCheckResponse_SERVING)
			go srv.Serve(ln)
			t.Cleanup(srv.Stop)
			check := func(svc string) checks.Result {
				def := structs.ServiceCheck{Type: structs.CheckTypeGRPC, GRPCService: svc, GRPCUseTLS: useTLS, TLSSkipVerify: true, Interval: time.Hour}
				return probeOnce(t, &checks.Check{Def: &def, Address: ln.Addr().String(), Dial: netns.Dialer(ns, nil)})
			}
			if r := check("app.v1"); r.Status != structs.HealthPassing {
				t.Fatalf("serving: %s %s", r.Status, r.Output)
			}
			if r := check(""); r.Status != structs.HealthPassing {
				t.Fatalf("whole server: %s %s", r.Status, r.Output)
			}
			hs.SetServingStatus("app.v1", healthpb.HealthCheckResponse_NOT_SERVING)
			if r := check("app.v1"); r.Status != structs.HealthCritical || !strings.Contains(r.Output, "NOT_SERVING") {
				t.Fatalf("not serving: %s %s", r.Status, r.Output)
			}
			if r := check("nope"); r.Status != structs.HealthCritical {
				t.Fatalf("unknown service: %s %s", r.Status, r.Output)
			}
		})
	}
}

// selfSigned is httptest's certificate as gRPC server credentials.
func selfSigned(t *testing.T) credentials.TransportCredentials {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	cert := srv.TLS.Certificates[0]
	srv.Close()
	return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
}

func TestScriptProbe(t *testing.T) {
	// A real command through an ExecFunc; the client passes one that goes
	// through the task driver's exec (tested in client/allocrunner).
	run := func(ctx context.Context, task string, argv []string) ([]byte, int, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.WaitDelay = 100 * time.Millisecond // the shell's children hold its output open
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return out, ee.ExitCode(), nil
		}
		return out, 0, err
	}
	for _, tc := range []struct {
		script string
		want   structs.HealthStatus
	}{{"echo fine; exit 0", structs.HealthPassing}, {"echo slow; exit 1", structs.HealthWarning}, {"echo down; exit 2", structs.HealthCritical}, {"sleep 5", structs.HealthCritical}} {
		def := structs.ServiceCheck{Type: structs.CheckTypeScript, Command: "/bin/sh", Args: []string{"-c", tc.script}, Interval: time.Hour, Timeout: 300 * time.Millisecond}
		r := probeOnce(t, &checks.Check{Def: &def, Task: "web", Exec: run})
		if r.Status != tc.want {
			t.Errorf("%q: %s, want %s (%q)", tc.script, r.Status, tc.want, r.Output)
		}
	}
}
