package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/roam-sh/roam/testutil"
)

// workload is the chaos suite's traffic: concurrent callers registering,
// updating with check-and-set, stopping and reading a few jobs through
// every server, each operation recorded with its invocation and response
// times for the linearizability checker.
type workload struct {
	c     *chaosCluster
	jobs  []string
	start time.Time
	http  map[*chaosNode]*http.Client
	seq   atomic.Uint64 // unique write values

	mu      sync.Mutex
	history []porcupine.Operation // writes and default (consistent) reads
	stale   []porcupine.Operation // ?stale reads, checked apart
	acked   int
	// unexpected lists answers the model has no place for (a test bug or
	// a server bug either way): the run fails on any.
	unexpected []string
	unknownWhy map[string]int // why outcomes were unknown, for the log

	stop   chan struct{}
	halted sync.Once
	wg     sync.WaitGroup
}

// opTimeout bounds one request: longer than the forwarder's wait for an
// election (5 s), so a request that waits for one can still succeed.
const opTimeout = 8 * time.Second

func newWorkload(c *chaosCluster, jobs int) *workload {
	w := &workload{c: c, start: time.Now(), http: map[*chaosNode]*http.Client{}, stop: make(chan struct{}), unknownWhy: map[string]int{}}
	for i := range jobs {
		w.jobs = append(w.jobs, fmt.Sprintf("chaos-%s-%d", c.lan.id, i))
	}
	for _, n := range c.servers {
		w.http[n] = n.hostClient(opTimeout)
	}
	return w
}

// run starts callers goroutines; each does one operation after another
// until halt.
func (w *workload) run(callers int) {
	for i := range callers {
		w.wg.Add(1)
		go w.caller(i)
	}
}

// haltOnce stops the callers and waits for their last operations.
func (w *workload) haltOnce() {
	w.halted.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// verify waits until every server's own copy (?stale) of every job equals
// the leader's, then reads every job through the leader (adding the reads
// to the history) and counts the acknowledged writes the final state does
// not hold: a job's modify index only grows, so a write acknowledged at
// index n is lost when the job's index is below n. The leader is read
// again on each try: a write whose caller gave up may still land late (a
// forwarded request held in a partitioned TCP connection reaches its server
// when the partition heals).
func (w *workload) verify(t *testing.T) (lost int) {
	t.Helper()
	l := w.c.waitLeader(nil, 60*time.Second)
	testutil.WaitFor(t, 90*time.Second, func() error {
		for _, job := range w.jobs {
			want, err := w.do(l, jobInput{Kind: opRead, Job: job})
			if err != nil || want.Out == outUnknown {
				return fmt.Errorf("read %s through the leader %s: %+v %v", job, l.name, want, err)
			}
			for _, n := range w.c.servers {
				out, err := w.do(n, jobInput{Kind: opRead, Job: job, Stale: true})
				if err != nil || out != want {
					return fmt.Errorf("%s holds %s as %+v (%v), the leader as %+v", n.name, job, out, err, want)
				}
			}
		}
		return nil
	})
	final := map[string]jobOutput{}
	for _, job := range w.jobs {
		in := jobInput{Kind: opRead, Job: job}
		testutil.WaitFor(t, 60*time.Second, func() error {
			out, ok := w.record(len(w.jobs), l, in)
			if !ok {
				return fmt.Errorf("final read of %s through %s failed", job, l.name)
			}
			final[job] = out
			return nil
		})
	}
	for _, op := range w.history {
		in, out := op.Input.(jobInput), op.Output.(jobOutput)
		if (in.Kind != opRegister && in.Kind != opCAS) || out.Out != outOK {
			continue
		}
		if f := final[in.Job]; f.Out != outOK || f.Index < out.Index {
			t.Errorf("lost: %s of %s acknowledged at index %d, final state %+v", in.Kind, in.Job, out.Index, f)
			lost++
		}
	}
	return lost
}

// acknowledged is how many writes have succeeded so far.
func (w *workload) acknowledged() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

// caller is one client of the cluster. Its check-and-set writes use the
// index it last saw for the job, as a read-modify-write caller would.
func (w *workload) caller(id int) {
	defer w.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(id), uint64(w.start.UnixNano())))
	seen := map[string]uint64{}
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		in := jobInput{Job: w.jobs[rng.IntN(len(w.jobs))]}
		switch r := rng.IntN(100); {
		case r < 15:
			in.Kind = opRegister
		case r < 50:
			in.Kind, in.Expect = opCAS, seen[in.Job]
		case r < 60:
			in.Kind = opStop
		case r < 90:
			in.Kind = opRead
		default:
			in.Kind, in.Stale = opRead, true
		}
		if in.Kind == opRegister || in.Kind == opCAS {
			in.Value = fmt.Sprintf("v%d", w.seq.Add(1))
		}
		n := w.c.servers[rng.IntN(len(w.c.servers))]
		out, ok := w.record(id, n, in)
		if !ok || out.Out == outUnknown {
			// A client backs off after a failure rather than spinning on a
			// server that cannot answer (and each unknown outcome makes
			// the history costlier to check).
			select {
			case <-w.stop:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if ok && (out.Out == outOK) && out.Index > 0 && in.Kind != opStop {
			seen[in.Job] = out.Index
		}
	}
}

// record runs in against server n and appends it to the history, unless it
// certainly had no effect and saw nothing (the connection was refused, or a
// read failed).
func (w *workload) record(client int, n *chaosNode, in jobInput) (jobOutput, bool) {
	call := time.Since(w.start).Nanoseconds()
	out, err := w.do(n, in)
	ret := time.Since(w.start).Nanoseconds()
	if err != nil {
		if !errors.Is(err, errNoEffect) {
			w.mu.Lock()
			w.unexpected = append(w.unexpected, err.Error())
			w.mu.Unlock()
		}
		return out, false
	}
	if out.Out == outUnknown {
		if in.Kind == opRead {
			return out, false
		}
		ret = unknownReturn
		w.mu.Lock()
		w.unknownWhy[out.Value]++
		w.mu.Unlock()
		out.Value = ""
	}
	op := porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret, Metadata: n.name}
	w.mu.Lock()
	defer w.mu.Unlock()
	if in.Stale {
		w.stale = append(w.stale, op)
		return out, true
	}
	w.history = append(w.history, op)
	if in.Kind != opRead && out.Out == outOK {
		w.acked++
	}
	return out, true
}

// errNoEffect marks a request that certainly did nothing.
var errNoEffect = errors.New("no effect")

// do sends one operation. An error means the request certainly had no
// effect (it never reached a server).
func (w *workload) do(n *chaosNode, in jobInput) (jobOutput, error) {
	req, err := w.request(n, in)
	if err != nil {
		return jobOutput{}, err
	}
	resp, err := w.http[n].Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return jobOutput{}, errNoEffect
		}
		return jobOutput{Out: outUnknown, Value: "transport: " + tail(err.Error(), 60)}, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return jobOutput{Out: outUnknown, Value: "read body"}, nil
	}
	return classify(in, resp.StatusCode, body)
}

func (w *workload) request(n *chaosNode, in jobInput) (*http.Request, error) {
	switch in.Kind {
	case opRegister, opCAS:
		body, _ := json.Marshal(map[string]any{
			"Job":            workloadJob(in.Job, in.Value),
			"EnforceIndex":   in.Kind == opCAS,
			"JobModifyIndex": in.Expect,
		})
		return http.NewRequest(http.MethodPut, n.h.url("/v1/jobs"), bytes.NewReader(body))
	case opStop:
		return http.NewRequest(http.MethodDelete, n.h.url("/v1/job/"+in.Job), nil)
	default:
		path := "/v1/job/" + in.Job
		if in.Stale {
			path += "?stale"
		}
		return http.NewRequest(http.MethodGet, n.h.url(path), nil)
	}
}

// workloadJob is a job with no placements (count 0): its registration and
// evaluation are the writes under test, and the clients stay idle.
func workloadJob(id, value string) map[string]any {
	return map[string]any{
		"ID": id, "Name": id, "Type": "service", "Datacenters": []string{"*"},
		"Meta": map[string]string{"v": value},
		"TaskGroups": []map[string]any{{
			"Name": "g", "Count": 0,
			"Tasks": []map[string]any{{
				"Name": "t", "Driver": "raw_exec",
				"Config": map[string]any{"command": "/bin/true"},
			}},
		}},
	}
}

// classify turns a response into an outcome. A server error is unknown:
// the leader may have committed the write before failing to answer.
func classify(in jobInput, status int, body []byte) (jobOutput, error) {
	switch {
	case status == http.StatusOK && in.Kind == opRead:
		var j struct {
			Stop           bool
			Meta           map[string]string
			JobModifyIndex uint64
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return jobOutput{}, fmt.Errorf("decode job: %w: %s", err, body)
		}
		return jobOutput{Out: outOK, Index: j.JobModifyIndex, Value: j.Meta["v"], Stop: j.Stop}, nil
	case status == http.StatusOK:
		var r struct{ JobModifyIndex uint64 }
		if err := json.Unmarshal(body, &r); err != nil {
			return jobOutput{}, fmt.Errorf("decode write: %w: %s", err, body)
		}
		return jobOutput{Out: outOK, Index: r.JobModifyIndex}, nil
	case status == http.StatusNotFound && in.Kind == opRead:
		return jobOutput{Out: outNotFound}, nil
	case status == http.StatusNotFound && in.Kind == opStop:
		return jobOutput{Out: outRefused}, nil
	case status == http.StatusBadRequest && in.Kind == opCAS && strings.Contains(string(body), "enforcing job modify index"):
		return jobOutput{Out: outRefused}, nil
	case status >= 500 && neverSent(body):
		return jobOutput{}, errNoEffect
	case status >= 500:
		return jobOutput{Out: outUnknown, Value: fmt.Sprintf("%d %s", status, tail(strings.TrimSpace(string(body)), 80))}, nil
	}
	return jobOutput{}, fmt.Errorf("unexpected answer to %s: %d %s", in.Kind, status, body)
}

// neverSent reports whether a server error says the request never reached
// Raft: the server knew no leader to forward it to (the bare "no cluster
// leader" of the forwarder; a write Raft lost has more after it), or
// could not connect to the one it knew.
func neverSent(body []byte) bool {
	msg := strings.TrimSpace(string(body))
	return strings.EqualFold(msg, "no cluster leader") || strings.Contains(msg, "connect: connection refused")
}
