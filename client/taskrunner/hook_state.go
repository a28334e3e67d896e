package taskrunner

import (
	"bytes"
	"sync"
)

// HookState is one hook's saved state: an opaque blob the hook saves once it
// did something a restarted client must find again without redoing it
// (services it registered, a proxy it started). The runner persists it in
// the client's state DB (per task and hook for task hooks, per allocation
// and hook for allocation hooks) and hands it back to every later stage,
// including those of the runner a restarted client restores. Destroying the
// allocation deletes it.
//
// Every stage's request carries the hook's HookState; the zero value of a
// request's State (nil) is never passed.
type HookState struct {
	mu      sync.Mutex
	saved   []byte
	persist func([]byte) error
}

// NewHookState returns a state holding saved (nil: nothing saved yet) that
// calls persist with each blob saved. Runners build these; hooks do not.
func NewHookState(saved []byte, persist func([]byte) error) *HookState {
	return &HookState{saved: bytes.Clone(saved), persist: persist}
}

// Saved returns a copy of the last blob saved, by this client process or an
// earlier one; nil if the hook never saved anything (or saved nil).
func (s *HookState) Saved() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.saved)
}

// Save replaces the hook's saved state with b and persists it before
// returning; nil clears it.
func (s *HookState) Save(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.persist(bytes.Clone(b)); err != nil {
		return err
	}
	s.saved = bytes.Clone(b)
	return nil
}

// HookStates hands each hook of one runner its HookState, created on first
// use from what the runner restored. The alloc runner uses it too.
type HookStates struct {
	mu       sync.Mutex
	byHook   map[string]*HookState
	restored map[string][]byte
	persist  func(hook string, b []byte) error
}

// NewHookStates starts from restored (by hook name; nil for a new runner);
// persist writes one hook's blob to the state DB.
func NewHookStates(restored map[string][]byte, persist func(hook string, b []byte) error) *HookStates {
	return &HookStates{byHook: map[string]*HookState{}, restored: restored, persist: persist}
}

// For returns the named hook's state.
func (hs *HookStates) For(hook string) *HookState {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.byHook[hook]; s != nil {
		return s
	}
	s := NewHookState(hs.restored[hook], func(b []byte) error { return hs.persist(hook, b) })
	hs.byHook[hook] = s
	return s
}
