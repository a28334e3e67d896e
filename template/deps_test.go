package template

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// connCounter records the most connections a server held open at once.
type connCounter struct {
	mu         sync.Mutex
	open, peak int
}

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open++
		c.peak = max(c.peak, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

// A template that watches more services than a task may fails with the
// bound named, and never holds more connections to the agent than a task's
// engine may: the security review's template (150 nomadService reads in a
// loop) opened 150 blocking reads, took the agent's whole per-address cap
// and locked the CLI and other jobs' templates out.
func TestTooManyDepsFail(t *testing.T) {
	svc, _ := newBlockingService(t)
	counter := &connCounter{}
	srv := httptest.NewUnstartedServer(svc)
	srv.Config.ConnState = counter.track
	srv.Start()
	t.Cleanup(func() {
		svc.mu.Lock()
		svc.closed = true
		svc.cond.Broadcast()
		svc.mu.Unlock()
		srv.Close()
	})
	allocDir := t.TempDir()
	eng, err := New(Config{
		Templates: []*structs.Template{{
			EmbeddedTmpl: `{{ range loop 150 }}{{ range nomadService (printf "s%d" .) }}{{ .Port }}{{ end }}{{ end }}`,
			DestPath:     "local/out",
		}},
		TaskDir: filepath.Join(allocDir, "web"), AllocDir: allocDir,
		Addr: strings.TrimPrefix(srv.URL, "http://"), Logger: testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	defer eng.Stop()
	var got Event
	deadline := time.After(30 * time.Second)
	for got.Kind != EventFailed {
		select {
		case got = <-eng.Events():
		case <-deadline:
			t.Fatalf("no failure; last event %v, peak connections %d", got.Kind, counter.peak)
		}
	}
	if !errors.Is(got.Err, ErrTooManyDeps) || !strings.Contains(got.Err.Error(), "it watches 150 services or variables; the limit is 32") {
		t.Fatalf("failed with %v, want the dependency bound", got.Err)
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if counter.peak > MaxDepsPerTask {
		t.Fatalf("the engine held %d connections to the agent at once; a task may hold %d", counter.peak, MaxDepsPerTask)
	}
	t.Logf("peak connections %d", counter.peak)
}
