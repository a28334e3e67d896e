package client

import (
	"fmt"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// fakeServer is a tiny in-memory stand-in for the servers' side of the
// client RPCs, for unit tests of the client's loops only. The real server is
// exercised by the agent tests that come later.
type fakeServer struct {
	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change
	index         uint64
	ttl           time.Duration
	nodes         map[string]*structs.Node
	registrations int
	heartbeats    int
	allocs        map[string]*structs.Allocation
	updateRPCs    int
	clientState   map[string]*structs.Allocation // latest update per alloc
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		changed: make(chan struct{}), index: 1, ttl: 200 * time.Millisecond,
		nodes: map[string]*structs.Node{}, allocs: map[string]*structs.Allocation{},
		clientState: map[string]*structs.Allocation{},
	}
}

func (s *fakeServer) RPC(method string, args, reply any) error {
	switch method {
	case structs.MethodNodeRegister:
		return s.register(args.(*structs.NodeRegisterRequest), reply.(*structs.NodeUpdateResponse))
	case structs.MethodNodeUpdateStatus:
		return s.heartbeat(args.(*structs.NodeUpdateStatusRequest), reply.(*structs.NodeUpdateResponse))
	case structs.MethodNodeGetClientAllocs:
		return s.clientAllocs(args.(*structs.NodeSpecificRequest), reply.(*structs.NodeClientAllocsResponse))
	case structs.MethodAllocGetAllocs:
		return s.getAllocs(args.(*structs.AllocsGetRequest), reply.(*structs.AllocsGetResponse))
	case structs.MethodNodeUpdateAlloc:
		return s.updateAllocs(args.(*structs.AllocUpdateRequest))
	}
	return fmt.Errorf("fake server: unknown method %s", method)
}

// bump records a change; the caller holds mu.
func (s *fakeServer) bump() {
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *fakeServer) register(req *structs.NodeRegisterRequest, resp *structs.NodeUpdateResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[req.Node.ID] = req.Node.Copy()
	s.registrations++
	resp.HeartbeatTTL = s.ttl
	return nil
}

func (s *fakeServer) heartbeat(req *structs.NodeUpdateStatusRequest, resp *structs.NodeUpdateResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nodes[req.NodeID]; !ok {
		return fmt.Errorf("node %s: %w", req.NodeID, structs.ErrNotFound)
	}
	s.heartbeats++
	resp.HeartbeatTTL = s.ttl
	return nil
}

func (s *fakeServer) clientAllocs(req *structs.NodeSpecificRequest, resp *structs.NodeClientAllocsResponse) error {
	deadline := time.After(req.MaxQueryTime)
	for {
		s.mu.Lock()
		if _, ok := s.nodes[req.NodeID]; !ok {
			s.mu.Unlock()
			return fmt.Errorf("node %s: %w", req.NodeID, structs.ErrNotFound)
		}
		if s.index > req.MinQueryIndex {
			resp.Allocs = map[string]uint64{}
			for id, a := range s.allocs {
				if a.NodeID == req.NodeID {
					resp.Allocs[id] = a.AllocModifyIndex
				}
			}
			resp.Index = s.index
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			resp.Index = req.MinQueryIndex
			return nil
		}
	}
}

func (s *fakeServer) getAllocs(req *structs.AllocsGetRequest, resp *structs.AllocsGetResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range req.AllocIDs {
		if a, ok := s.allocs[id]; ok {
			cp := *a
			resp.Allocs = append(resp.Allocs, &cp)
		}
	}
	resp.Index = s.index
	return nil
}

func (s *fakeServer) updateAllocs(req *structs.AllocUpdateRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateRPCs++
	for _, a := range req.Alloc {
		s.clientState[a.ID] = a
	}
	return nil
}

// upsertAlloc places or changes an allocation, as a scheduler would.
func (s *fakeServer) upsertAlloc(a *structs.Allocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bump()
	cp := *a
	cp.AllocModifyIndex = s.index
	s.allocs[a.ID] = &cp
}

// stopAlloc sets an allocation's desired status to stop.
func (s *fakeServer) stopAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bump()
	cp := *s.allocs[id]
	cp.DesiredStatus = structs.AllocDesiredStatusStop
	cp.AllocModifyIndex = s.index
	s.allocs[id] = &cp
}

// gcAlloc removes an allocation, as garbage collection would.
func (s *fakeServer) gcAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bump()
	delete(s.allocs, id)
}

// forgetNode drops a node, as if the servers lost it.
func (s *fakeServer) forgetNode(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, id)
}

func (s *fakeServer) node(id string) *structs.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[id]
}

func (s *fakeServer) reported(id string) *structs.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientState[id]
}

func (s *fakeServer) counts() (registrations, heartbeats, updateRPCs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registrations, s.heartbeats, s.updateRPCs
}

// forgetReports drops what clients reported, so a test sees only later reports.
func (s *fakeServer) forgetReports() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.clientState)
}
