package clientapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/drivers"
)

// Exec over a websocket, in Nomad's frames (JSON text messages):
//
//	in:  {"stdin":{"data":"<base64>"}}  {"stdin":{"close":true}}
//	     {"tty_size":{"height":40,"width":120}}  {} (heartbeat)
//	out: {"stdout":{"data":"<base64>"}}  {"stderr":{"data":"<base64>"}}
//	     {"exited":true,"result":{"exit_code":0}}, then a normal close
//
// A failure after the upgrade (task not running, driver without exec) is a
// close frame with code 1011 and the error as its text, which Nomad's client
// shows as the error.

// closeTextMax is the most a close frame's text may hold.
const closeTextMax = 120

// execWriteTimeout bounds one websocket write to a stalled client.
const execWriteTimeout = 30 * time.Second

// upgrader accepts every Origin: the HTTP API's middleware in front of
// every client endpoint (httpapi/browsers.go) has already refused pages
// other than the agent's own and the origins its operator allowed, and
// judging again here with a narrower rule would refuse the latter.
// maxExecFrame bounds one input frame of an exec session. Clients send
// stdin in small chunks (Nomad's CLI a few KiB at a time, base64 in JSON);
// a larger frame closes the session with "message too big".
const maxExecFrame = 1 << 20

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// hijacker lets the upgrader take the connection through the API's
// middleware, whose response writers unwrap to the server's.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// execRequest is a validated exec request.
type execRequest struct {
	task    string
	command []string
	tty     bool
}

func parseExec(ar *allocrunner.AllocRunner, r *http.Request) (*execRequest, error) {
	q := r.URL.Query()
	req := &execRequest{task: q.Get("task")}
	tasks := ar.TaskNames()
	if req.task == "" {
		if len(tasks) != 1 {
			return nil, badRequest("missing task (the allocation's tasks: " + strings.Join(tasks, ", ") + ")")
		}
		req.task = tasks[0]
	}
	if err := json.Unmarshal([]byte(q.Get("command")), &req.command); err != nil || len(req.command) == 0 || req.command[0] == "" {
		return nil, badRequest(`command must be a non-empty JSON array of strings, as ["/bin/sh","-c","ls"]`)
	}
	if v := q.Get("tty"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("tty must be true or false")
		}
		req.tty = b
	}
	return req, nil
}

// allocExec: GET /v1/client/allocation/:id/exec?task=&command=&tty=
func (h *Handler) allocExec(w http.ResponseWriter, r *http.Request) {
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	req, err := parseExec(ar, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	conn, err := upgrader.Upgrade(hijacker{w}, r, nil)
	if err != nil {
		return // the upgrader answered the request
	}
	defer conn.Close()
	// A frame is read whole before it is decoded: without a cap one frame
	// declaring gigabytes would be buffered in the agent's memory.
	conn.SetReadLimit(maxExecFrame)
	s := &execSession{conn: conn}
	res, err := s.run(ar, req)
	if err != nil {
		h.logger.Info("exec failed", "alloc_id", ar.ID(), "task", req.task, "error", err)
		s.close(websocket.CloseInternalServerErr, err.Error())
		return
	}
	_ = s.send(&api.ExecStreamingOutput{Exited: true, Result: &api.ExecStreamingExitResult{ExitCode: res.ExitCode}})
	s.close(websocket.CloseNormalClosure, "")
}

// execSession is one exec websocket: the driver writes output frames
// through it, readInput feeds the command's stdin and terminal size.
type execSession struct {
	conn *websocket.Conn
	mu   sync.Mutex // one writer at a time
}

func (s *execSession) run(ar *allocrunner.AllocRunner, req *execRequest) (*drivers.ExitResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdin, stdinW := io.Pipe()
	defer stdin.Close()
	resize := make(chan drivers.TerminalSize, 1)
	go s.readInput(stdinW, resize, cancel)
	return ar.ExecTask(ctx, req.task, &drivers.ExecOptions{
		Command: req.command, Tty: req.tty, Stdin: stdin, Resize: resize,
		Stdout: &outputWriter{s: s, stderr: false}, Stderr: &outputWriter{s: s, stderr: true},
	})
}

// readInput applies the user's frames until the connection ends, which
// cancels the command.
func (s *execSession) readInput(stdin *io.PipeWriter, resize chan drivers.TerminalSize, cancel context.CancelFunc) {
	defer cancel()
	for {
		var in api.ExecStreamingInput
		if err := s.conn.ReadJSON(&in); err != nil {
			stdin.CloseWithError(io.ErrClosedPipe)
			return
		}
		if in.TTYSize != nil {
			latest(resize, drivers.TerminalSize{Height: in.TTYSize.Height, Width: in.TTYSize.Width})
		}
		if in.Stdin == nil {
			continue
		}
		if len(in.Stdin.Data) > 0 {
			if _, err := stdin.Write(in.Stdin.Data); err != nil {
				return
			}
		}
		if in.Stdin.Close {
			stdin.Close()
		}
	}
}

// latest queues sz, replacing a size not yet applied.
func latest(ch chan drivers.TerminalSize, sz drivers.TerminalSize) {
	for {
		select {
		case ch <- sz:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

func (s *execSession) send(out *api.ExecStreamingOutput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(execWriteTimeout))
	return s.conn.WriteJSON(out)
}

func (s *execSession) close(code int, text string) {
	if len(text) > closeTextMax {
		text = text[:closeTextMax]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// outputWriter turns the command's output into frames.
type outputWriter struct {
	s      *execSession
	stderr bool
}

func (o *outputWriter) Write(p []byte) (int, error) {
	op := &api.ExecStreamingIOOperation{Data: p}
	out := &api.ExecStreamingOutput{Stdout: op}
	if o.stderr {
		out = &api.ExecStreamingOutput{Stderr: op}
	}
	if err := o.s.send(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
