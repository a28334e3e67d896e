package clientapi

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/hoststats"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/netns/doctor"
)

// Allocs finds the allocations of the local client (*client.Client).
type Allocs interface {
	GetAllocRunner(allocID string) (*allocrunner.AllocRunner, error)
}

// Collector garbage-collects terminal allocations on request (optional;
// *client.Client implements it).
type Collector interface {
	CollectAlloc(allocID string) error
	CollectAll() error
}

// Defaults of Config.
const (
	DefaultPollInterval      = 250 * time.Millisecond
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultMaxReadBytes is the read cap: far above what anyone reads
	// through the API in one go, far below what would keep an agent busy.
	DefaultMaxReadBytes int64 = 256 << 20
	// DefaultMaxListEntries bounds one directory listing.
	DefaultMaxListEntries = 100_000
)

// Config builds a Handler.
type Config struct {
	Allocs Allocs
	// PollInterval is how often a followed file is checked for new data.
	PollInterval time.Duration
	// HeartbeatInterval is how often an idle stream sends an empty frame.
	HeartbeatInterval time.Duration
	// MaxReadBytes bounds the file data one request reads: cat and readat
	// refuse a larger range (400), a stream or log request that does not
	// follow ends after that many bytes (its frames carry offsets to go on
	// from). A followed stream is not capped in total: it is paced by the
	// task's output and the client's reading, and ends when the client goes
	// away.
	MaxReadBytes int64
	// MaxListEntries bounds the entries of one ls: a larger directory is
	// refused (400) rather than read, stat'ed and encoded whole.
	MaxListEntries int
	Logger         *slog.Logger
	// AllocDir is where allocations live: /v1/client/stats reports the
	// disk holding it. "" leaves the disk out.
	AllocDir string
	// TotalCPUMHz returns the node's CPU compute, to report the MHz in
	// use; nil reports none.
	TotalCPUMHz func() int64
	// Doctor runs `roam node doctor`'s host check with the agent's
	// configuration, for GET /v1/client/doctor (the web UI's client page);
	// nil answers 501.
	Doctor func() []doctor.Check
}

// Handler serves /v1/client/... for local allocations.
type Handler struct {
	cfg    Config
	logger *slog.Logger
	mux    *http.ServeMux
	host   hoststats.Collector
	doctor *doctorCache
}

// New returns the client endpoints' handler.
func New(cfg Config) *Handler {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.MaxReadBytes <= 0 {
		cfg.MaxReadBytes = DefaultMaxReadBytes
	}
	if cfg.MaxListEntries <= 0 {
		cfg.MaxListEntries = DefaultMaxListEntries
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, logger: cfg.Logger.With("component", "client_api"), mux: http.NewServeMux()}
	if cfg.Doctor != nil {
		h.doctor = &doctorCache{run: cfg.Doctor}
	}
	h.routes()
	return h
}

func (h *Handler) routes() {
	for op, fn := range map[string]http.HandlerFunc{
		"ls": h.fsList, "stat": h.fsStat, "cat": h.fsCat, "readat": h.fsReadAt,
		"stream": h.fsStream, "logs": h.fsLogs,
	} {
		h.mux.HandleFunc("GET /v1/client/fs/"+op+"/{alloc}", fn)
	}
	h.mux.HandleFunc("GET /v1/client/allocation/{alloc}/stats", h.allocStats)
	h.mux.HandleFunc("GET /v1/client/stats", h.hostStats)
	h.mux.HandleFunc("GET /v1/client/doctor", h.nodeDoctor)
	h.mux.HandleFunc("GET /v1/client/allocation/{alloc}/exec", h.allocExec)
	h.mux.HandleFunc("GET /v1/client/allocation/{alloc}/checks", h.allocChecks)
	for _, m := range []string{"PUT", "POST"} {
		h.mux.HandleFunc(m+" /v1/client/allocation/{alloc}/restart", h.allocRestart)
		h.mux.HandleFunc(m+" /v1/client/allocation/{alloc}/signal", h.allocSignal)
	}
	for _, m := range []string{"GET", "PUT", "POST"} {
		h.mux.HandleFunc(m+" /v1/client/allocation/{alloc}/gc", h.allocGC)
		h.mux.HandleFunc(m+" /v1/client/gc", h.clientGC)
	}
}

// ServeHTTP routes a client request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// HasAlloc reports whether the local client runs the allocation; the API
// forwards requests for the others to their node.
func (h *Handler) HasAlloc(allocID string) bool {
	_, err := h.cfg.Allocs.GetAllocRunner(allocID)
	return err == nil
}

// apiError is an error with the status code it answers with.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, msg} }

// Errors of the file system endpoints.
var (
	errAllocNotFound = &apiError{http.StatusNotFound, "alloc not found"}
	errEscapes       = &apiError{http.StatusForbidden, "path escapes the allocation directory"}
	errPrivate       = &apiError{http.StatusForbidden, "tasks' secrets/ and private/ directories are not accessible through the API"}
	errDotDot        = &apiError{http.StatusBadRequest, `path must not contain ".." components`}
	errChanged       = &apiError{http.StatusConflict, "file changed while it was being opened; try again"}
	errNotServable   = &apiError{http.StatusBadRequest, "only regular files and directories are served; this is a device node, FIFO, socket or other special file"}
)

// requestErrnos are file system errors caused by what the request names
// (and what the allocation's tasks made), not by the agent: a symlink loop,
// a file where a directory is needed, a name too long. They answer 400.
var requestErrnos = []error{syscall.ELOOP, syscall.ENOTDIR, syscall.ENAMETOOLONG, syscall.EINVAL}

// statusCode is the one place mapping errors of this package to HTTP codes.
func statusCode(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.code
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		// os.Root refusing a path that leaves it, or EACCES/EPERM.
		return http.StatusForbidden
	case strings.Contains(err.Error(), "path escapes from parent"):
		// os.Root's own refusal (the tree changed under resolve); os
		// exports no sentinel for it.
		return http.StatusForbidden
	case slices.ContainsFunc(requestErrnos, func(e error) bool { return errors.Is(err, e) }):
		return http.StatusBadRequest
	case errors.Is(err, allocrunner.ErrUnknownTask),
		errors.Is(err, taskrunner.ErrTaskNotRunning),
		errors.Is(err, taskrunner.ErrExecNotSupported),
		errors.Is(err, taskrunner.ErrStatsNotSupported):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// message is the body written for err: path errors drop the host path.
func message(err error) string {
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) {
		return "file not found"
	}
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// writeError writes a plain-text error, as the rest of the API does.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusCode(err)
	if code >= http.StatusInternalServerError {
		h.logger.Warn("client request failed", "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(message(err) + "\n"))
}

// allocRunner finds the request's allocation.
func (h *Handler) allocRunner(r *http.Request) (*allocrunner.AllocRunner, error) {
	ar, err := h.cfg.Allocs.GetAllocRunner(r.PathValue("alloc"))
	if err != nil {
		return nil, errAllocNotFound
	}
	return ar, nil
}
