package server

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestMethodConstantsAreRegistered checks that the Method constants of
// structs (rpc_methods.go) and the server's endpoint table name the same
// methods: a constant without an
// endpoint is a call that fails at run time, an endpoint without a constant
// is one that callers can only name by a literal.
func TestMethodConstantsAreRegistered(t *testing.T) {
	s := testServer(t)
	consts := methodConstants(t, filepath.Join("..", "structs", "rpc_methods.go"))
	registered := s.rpcServer.Methods()
	for _, m := range consts {
		if !slices.Contains(registered, m) {
			t.Errorf("structs constant for %q names no registered endpoint method", m)
		}
	}
	for _, m := range registered {
		if !slices.Contains(consts, m) {
			t.Errorf("endpoint method %q has no constant in structs/rpc_methods.go", m)
		}
	}
	if len(consts) == 0 || len(registered) == 0 {
		t.Fatalf("found %d constants and %d registered methods", len(consts), len(registered))
	}
}

// methodConstants returns the values of the string constants declared in
// the Go file at path.
func methodConstants(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// failing is an endpoint that returns the error it is asked for: each of
// the errors the real endpoints make, by name.
type failing struct{}

var endpointErrors = map[string]error{
	"not found":         notFound("job", "web"),
	"permission denied": permissionDenied("node secret ID does not match"),
	"bad request":       badRequest("missing job ID"),
	"no leader":         fmt.Errorf("%w: %w", structs.ErrNoLeader, errors.New("raft: leadership lost")),
	"shutdown":          fmt.Errorf("apply: %w", structs.ErrShutdown),
	// Its text looks like a not-found, but it has no kind: it must stay an
	// internal error, not be taken for one by its words.
	"plain": errors.New(`node not found: "n1"`),
}

func (failing) Fail(args *structs.GenericRequest, reply *structs.GenericResponse) error {
	return endpointErrors[args.Region]
}

// TestErrorKindsCrossTheWire sends each kind of endpoint error over a real
// RPC connection and checks that the caller's errors.Is and HTTP status are
// those of the error in process.
func TestErrorKindsCrossTheWire(t *testing.T) {
	addr := serveForTest(t, "Failing", failing{})
	pool := msgrpc.NewPool(testutil.Logger(t))
	defer pool.Close()
	sentinels := []error{structs.ErrNotFound, structs.ErrPermissionDenied, structs.ErrBadRequest, structs.ErrNoLeader, structs.ErrShutdown}
	for name, local := range endpointErrors {
		t.Run(name, func(t *testing.T) {
			remote := pool.RPC(addr, "Failing.Fail", &structs.GenericRequest{QueryOptions: structs.QueryOptions{Region: name}}, &structs.GenericResponse{})
			if remote == nil || remote.Error() != local.Error() {
				t.Fatalf("remote error %v, want the message %q", remote, local)
			}
			for _, s := range sentinels {
				if errors.Is(remote, s) != errors.Is(local, s) {
					t.Errorf("errors.Is(%q): remote %v, local %v", s, errors.Is(remote, s), errors.Is(local, s))
				}
			}
			if got, want := ErrorCode(remote), ErrorCode(local); got != want {
				t.Errorf("HTTP status: remote %d, local %d", got, want)
			}
		})
	}
	plain := pool.RPC(addr, "Failing.Fail", &structs.GenericRequest{QueryOptions: structs.QueryOptions{Region: "plain"}}, &structs.GenericResponse{})
	if errors.Is(plain, structs.ErrNotFound) || ErrorCode(plain) != http.StatusInternalServerError {
		t.Fatalf("a message that reads like not found was taken for one: %v (%d)", plain, ErrorCode(plain))
	}
}

// serveForTest serves rcvr alone on a fresh RPC listener.
func serveForTest(t *testing.T, name string, rcvr any) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := msgrpc.NewMux(ln, testutil.Logger(t))
	srv := msgrpc.NewServer(testutil.Logger(t))
	if err := srv.Register(name, rcvr); err != nil {
		t.Fatal(err)
	}
	rpcLn := mux.Listen(msgrpc.TypeRPC)
	go func() {
		for {
			conn, err := rpcLn.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(context.Background(), conn)
		}
	}()
	go mux.Serve()
	t.Cleanup(func() { mux.Close() })
	return ln.Addr().String()
}

// TestCancelledBlockingQueriesLeaveNoGoroutines starts blocking queries
// over a real connection to a real server, cancels them, and checks that
// neither the server (its blocking queries) nor the caller (its calls)
// keeps a goroutine, and that the process's count is back to its baseline.
func TestCancelledBlockingQueriesLeaveNoGoroutines(t *testing.T) {
	s := testServer(t)
	pool := msgrpc.NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := s.LocalAddr()
	job := registerJob(t, s, testJob("web", 1))
	waitEvalStatus(t, s, job.EvalID, structs.EvalStatusComplete)
	// The connection and the server's background work settle first: what
	// is left is the baseline the cancelled queries must return to.
	must(t, pool.RPC(addr, structs.MethodStatusPing, &structs.GenericRequest{}, &struct{}{}))
	baseline := runtime.NumGoroutine()

	const n = 20
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{
				MinQueryIndex: job.Index + 1_000_000, MaxQueryTime: 5 * time.Minute,
			}}
			req.SetContext(ctx)
			err := pool.RPC(addr, structs.MethodJobGetJob, req, &structs.SingleJobResponse{})
			if !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("cancelled query returned %v", err)
			}
		}()
	}
	testutil.WaitFor(t, waitLong, func() error {
		if got := testutil.GoroutinesIn("server.(*Server).blockingRPC"); got != n {
			return fmt.Errorf("%d of %d queries blocking on the server", got, n)
		}
		return nil
	})
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testutil.WaitFor(t, waitLong, func() error {
		server, caller := testutil.GoroutinesIn("server.(*Server).blockingRPC"), testutil.GoroutinesIn("msgrpc.(*Client).Call")
		if total := runtime.NumGoroutine(); server > 0 || caller > 0 || total > baseline {
			return fmt.Errorf("%d blocking queries on the server, %d calls waiting on the caller, %d goroutines (baseline %d)",
				server, caller, total, baseline)
		}
		return nil
	})
}
