package template

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// blockingService answers GET /v1/service/<name> in Nomad's shape with one
// instance whose port the test sets, blocking on ?index= as Nomad's API
// does, and records the index each blocked read waits past.
type blockingService struct {
	mu      sync.Mutex
	cond    *sync.Cond
	index   uint64
	port    int
	blocked uint64 // the index the latest blocked read waits past
	closed  bool
}

func newBlockingService(t *testing.T) (*blockingService, string) {
	b := &blockingService{index: 1, port: 1}
	b.cond = sync.NewCond(&b.mu)
	srv := httptest.NewServer(b)
	t.Cleanup(func() {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
		srv.Close()
	})
	return b, strings.TrimPrefix(srv.URL, "http://")
}

func (b *blockingService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idx, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	b.mu.Lock()
	for idx >= b.index && !b.closed {
		b.blocked = idx
		b.cond.Wait()
	}
	index, port := b.index, b.port
	b.mu.Unlock()
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
	w.Header().Set("X-Nomad-KnownLeader", "true")
	w.Header().Set("X-Nomad-LastContact", "0")
	fmt.Fprintf(w, `[{"ID":"a-1","ServiceName":"a","Namespace":"default","Address":"10.0.0.1","Port":%d}]`, port)
}

// setAndWaitRead moves the instance to port and returns once a reader has
// read it and blocks again: the engine has the new data.
func (b *blockingService) setAndWaitRead(t *testing.T, port int) {
	b.mu.Lock()
	b.index++
	b.port = port
	want := b.index
	b.cond.Broadcast()
	b.mu.Unlock()
	testutil.WaitFor(t, 10*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.blocked < want {
			return fmt.Errorf("no read of index %d yet", want)
		}
		return nil
	})
}

// A template's wait block renders once its data has been quiet for min:
// two changes inside that window give one re-render with the latest data,
// never a file with the intermediate one.
func TestTemplateWaitCoalescesChanges(t *testing.T) {
	svc, addr := newBlockingService(t)
	allocDir := t.TempDir()
	taskDir := filepath.Join(allocDir, "web")
	minWait, maxWait := 2*time.Second, 20*time.Second
	eng, err := New(Config{
		Templates: []*structs.Template{{
			EmbeddedTmpl: `{{ range nomadService "a" }}{{ .Port }}{{ end }}`, DestPath: "local/out",
			Wait: &structs.WaitConfig{Min: &minWait, Max: &maxWait},
		}},
		TaskDir: taskDir, AllocDir: allocDir, Addr: addr, Logger: testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	defer eng.Stop()
	next := func() Event {
		select {
		case ev := <-eng.Events():
			if ev.Kind == EventFailed || ev.Kind == EventError {
				t.Fatal(ev.Err)
			}
			return ev
		case <-time.After(30 * time.Second):
			t.Fatal("no event from the engine")
		}
		return Event{}
	}
	for next().Kind != EventRendered {
	}
	// changesUntil counts change events until the file shows want; events
	// come in render order, so every render before it has been counted.
	changes := 0
	changesUntil := func(want string) {
		for {
			if ev := next(); ev.Kind != EventChanged {
				t.Fatalf("event %v, want changed", ev.Kind)
			}
			changes++
			if got, err := os.ReadFile(eng.Path(0)); err == nil && string(got) == want {
				return
			}
		}
	}
	svc.setAndWaitRead(t, 2)
	svc.setAndWaitRead(t, 3)
	changesUntil("3")
	svc.setAndWaitRead(t, 4)
	changesUntil("4")
	if changes != 2 {
		t.Fatalf("%d re-renders for ports 2 and 3 within min, then 4; want 2 (3 and 4: never the intermediate 2)", changes)
	}
}
