package main

import (
	"context"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

// Client protocol timings, as client/ uses them.
const (
	updateInterval = 200 * time.Millisecond // Node.UpdateAlloc coalescing
	maxQueryTime   = 5 * time.Minute        // Node.GetClientAllocs long poll
	retryDelay     = 500 * time.Millisecond
)

// rpcer makes one RPC to the server.
type rpcer interface {
	RPC(method string, args, reply any) error
}

// poolRPC sends every call to one server address through a msgrpc pool.
type poolRPC struct {
	pool *msgrpc.Pool
	addr string
}

func (p poolRPC) RPC(method string, args, reply any) error {
	return p.pool.RPC(p.addr, method, args, reply)
}

// wireStats counts what the simulated nodes sent and received.
type wireStats struct {
	registers, heartbeats atomic.Int64
	// watchReturns are Node.GetClientAllocs replies with a new index;
	// idleReturns those that named nothing new for the node.
	watchReturns, idleReturns atomic.Int64
	getAllocs, updateAllocs   atomic.Int64
	errors                    atomic.Int64
}

// simNode behaves like client/ on the wire but runs no tasks: it registers,
// heartbeats at the TTL the server hands out, long-polls its allocations,
// pulls the ones that changed and reports each running in coalesced
// Node.UpdateAlloc batches.
type simNode struct {
	node   *structs.Node
	rpc    rpcer
	track  *tracker
	stats  *wireStats
	logger *slog.Logger

	registered chan struct{}
	ttl        atomic.Int64 // time.Duration

	mu      sync.Mutex
	pending map[string]*structs.Allocation
}

func newSimNode(node *structs.Node, rpc rpcer, track *tracker, stats *wireStats, logger *slog.Logger) *simNode {
	return &simNode{
		node: node, rpc: rpc, track: track, stats: stats, logger: logger.With("node", node.Name),
		registered: make(chan struct{}), pending: map[string]*structs.Allocation{},
	}
}

// run starts the node's loops; they stop when ctx ends.
func (n *simNode) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { n.registerAndHeartbeat(ctx) })
	wg.Go(func() { n.watchAllocs(ctx) })
	wg.Go(func() { n.updateLoop(ctx) })
}

func (n *simNode) fail(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	if n.stats.errors.Add(1) <= 10 {
		n.logger.Warn(op, "error", err)
	}
}

// registerAndHeartbeat registers, then heartbeats at half to three quarters
// of the TTL, registering again if the server forgot the node.
func (n *simNode) registerAndHeartbeat(ctx context.Context) {
	for !n.register(ctx) {
		if !sleep(ctx, retryDelay) {
			return
		}
	}
	close(n.registered)
	for {
		ttl := time.Duration(n.ttl.Load())
		if !sleep(ctx, ttl/2+rand.N(ttl/4+1)) {
			return
		}
		req := &structs.NodeUpdateStatusRequest{
			NodeID: n.node.ID, Status: structs.NodeStatusReady, UpdatedAt: time.Now().UnixNano(),
			WriteRequest: structs.WriteRequest{Region: nodeRPCRegion},
		}
		var resp structs.NodeUpdateResponse
		err := n.rpc.RPC(structs.MethodNodeUpdateStatus, req, &resp)
		n.stats.heartbeats.Add(1)
		switch {
		case err != nil && strings.Contains(strings.ToLower(err.Error()), "not found"):
			n.register(ctx)
		case err != nil:
			n.fail(ctx, "heartbeat", err)
		default:
			n.setTTL(resp.HeartbeatTTL)
		}
	}
}

func (n *simNode) register(ctx context.Context) bool {
	req := &structs.NodeRegisterRequest{Node: n.node, WriteRequest: structs.WriteRequest{Region: nodeRPCRegion}}
	var resp structs.NodeUpdateResponse
	n.stats.registers.Add(1)
	if err := n.rpc.RPC(structs.MethodNodeRegister, req, &resp); err != nil {
		n.fail(ctx, "register", err)
		return false
	}
	n.setTTL(resp.HeartbeatTTL)
	return true
}

func (n *simNode) setTTL(ttl time.Duration) {
	if ttl <= 0 {
		ttl = structs.DefaultHeartbeatTTL
	}
	n.ttl.Store(int64(ttl))
}

// watchAllocs long-polls Node.GetClientAllocs from the last index seen and
// pulls new or changed allocations with Alloc.GetAllocs. An allocation
// counts as placed when its ID first shows up in a reply: the server lists
// it only once the plan that placed it committed in Raft and was applied.
func (n *simNode) watchAllocs(ctx context.Context) {
	select {
	case <-n.registered:
	case <-ctx.Done():
		return
	}
	known := map[string]uint64{}
	var index uint64
	for ctx.Err() == nil {
		req := &structs.NodeSpecificRequest{
			NodeID: n.node.ID, SecretID: n.node.SecretID,
			QueryOptions: structs.QueryOptions{Region: nodeRPCRegion, MinQueryIndex: index, MaxQueryTime: maxQueryTime},
		}
		var resp structs.NodeClientAllocsResponse
		if err := n.rpc.RPC(structs.MethodNodeGetClientAllocs, req, &resp); err != nil {
			n.fail(ctx, "watch allocations", err)
			sleep(ctx, retryDelay)
			continue
		}
		if resp.Index <= index {
			continue // the long poll timed out
		}
		index = resp.Index
		n.stats.watchReturns.Add(1)
		if err := n.pull(ctx, known, resp.Allocs, time.Now()); err != nil {
			n.fail(ctx, "fetch allocations", err)
			index = 0
			sleep(ctx, retryDelay)
		}
	}
}

// pull fetches the allocations that are new or changed since known.
func (n *simNode) pull(ctx context.Context, known, server map[string]uint64, seen time.Time) error {
	var ids []string
	for id, idx := range server {
		if k, ok := known[id]; !ok || idx > k {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		n.stats.idleReturns.Add(1)
		return nil
	}
	slices.Sort(ids)
	req := &structs.AllocsGetRequest{AllocIDs: ids, QueryOptions: structs.QueryOptions{Region: nodeRPCRegion}}
	var resp structs.AllocsGetResponse
	n.stats.getAllocs.Add(1)
	if err := n.rpc.RPC(structs.MethodAllocGetAllocs, req, &resp); err != nil {
		return err
	}
	for _, a := range resp.Allocs {
		_, old := known[a.ID]
		known[a.ID] = a.AllocModifyIndex
		if old || a.DesiredStatus != structs.AllocDesiredStatusRun || a.Job == nil {
			continue
		}
		n.track.placedAlloc(a, seen)
		n.queueRunning(a)
	}
	return nil
}

// queueRunning queues the allocation's client update: every task running,
// and healthy when a deployment placed it.
func (n *simNode) queueRunning(a *structs.Allocation) {
	now := time.Now()
	states := map[string]*structs.TaskState{}
	if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
		for _, t := range tg.Tasks {
			states[t.Name] = &structs.TaskState{State: structs.TaskStateRunning, StartedAt: now, Events: taskEvents(now)}
		}
	}
	u := &structs.Allocation{
		ID: a.ID, NodeID: n.node.ID, ClientStatus: structs.AllocClientStatusRunning,
		ClientDescription: "Tasks are running", TaskStates: states, ModifyTime: now.UnixNano(),
	}
	if a.DeploymentID != "" {
		// Placed by a deployment: healthy at once, as a real client
		// would say after min_healthy_time (the roll-out's jobs set 0).
		healthy := true
		u.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: now}
	}
	n.mu.Lock()
	n.pending[a.ID] = u
	n.mu.Unlock()
}

// taskEvents are the events a real task runner records up to running.
func taskEvents(at time.Time) []*structs.TaskEvent {
	ts := at.UnixNano()
	return []*structs.TaskEvent{
		{Type: structs.TaskReceived, Time: ts, DisplayMessage: "Task received by client"},
		{Type: structs.TaskSetup, Time: ts, DisplayMessage: "Building Task Directory"},
		{Type: structs.TaskStarted, Time: ts, DisplayMessage: "Task started by client"},
	}
}

// updateLoop sends the queued updates every updateInterval, one RPC per
// node, as client/'s allocUpdater does.
func (n *simNode) updateLoop(ctx context.Context) {
	t := time.NewTicker(updateInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.flush(ctx)
	}
}

func (n *simNode) flush(ctx context.Context) {
	n.mu.Lock()
	batch := slices.SortedFunc(maps.Values(n.pending), func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	clear(n.pending)
	n.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	req := &structs.AllocUpdateRequest{Alloc: batch, WriteRequest: structs.WriteRequest{Region: nodeRPCRegion, AuthToken: n.node.SecretID}}
	n.stats.updateAllocs.Add(1)
	if err := n.rpc.RPC(structs.MethodNodeUpdateAlloc, req, &structs.GenericResponse{}); err != nil {
		n.fail(ctx, "update allocations", err)
		n.requeue(batch)
		return
	}
	ids := make([]string, len(batch))
	for i, a := range batch {
		ids[i] = a.ID
	}
	n.track.runningAllocs(ids, time.Now())
}

func (n *simNode) requeue(batch []*structs.Allocation) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range batch {
		if _, newer := n.pending[a.ID]; !newer {
			n.pending[a.ID] = a
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
