package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// LeaseStore persists address leases by alloc ID. The client keeps them in
// its state database, so an allocation keeps its address across client
// restarts and repairs.
type LeaseStore interface {
	Leases() (map[string]string, error)
	PutLease(allocID, addr string) error
	DeleteLease(allocID string) error
}

// ErrSubnetFull is returned when every address of the subnet is leased.
var ErrSubnetFull = errors.New("no free address in the bridge subnet")

// Allocator hands out the addresses of one IPv4 subnet: the first host
// address is the gateway (the bridge), the rest go to allocations, lowest
// free first. It is safe for concurrent use.
type Allocator struct {
	mu      sync.Mutex
	subnet  netip.Prefix
	gateway netip.Addr
	store   LeaseStore
}

// NewAllocator manages subnet (masked to its network address).
func NewAllocator(subnet netip.Prefix, store LeaseStore) (*Allocator, error) {
	subnet = subnet.Masked()
	if !subnet.Addr().Is4() || subnet.Bits() > 30 {
		return nil, fmt.Errorf("bridge subnet %s: need an IPv4 subnet of at least 4 addresses", subnet)
	}
	return &Allocator{subnet: subnet, gateway: subnet.Addr().Next(), store: store}, nil
}

// Gateway is the bridge's own address.
func (a *Allocator) Gateway() netip.Addr { return a.gateway }

// Subnet is the managed subnet.
func (a *Allocator) Subnet() netip.Prefix { return a.subnet }

// Lease returns the allocation's address, leasing one if it has none.
func (a *Allocator) Lease(allocID string) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	leases, err := a.store.Leases()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("read leases: %w", err)
	}
	if s, ok := leases[allocID]; ok {
		if addr, err := netip.ParseAddr(s); err == nil && a.subnet.Contains(addr) {
			return addr, nil
		}
	}
	used := make(map[netip.Addr]bool, len(leases))
	for id, s := range leases {
		if addr, err := netip.ParseAddr(s); err == nil && id != allocID {
			used[addr] = true
		}
	}
	addr, err := a.firstFree(used)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := a.store.PutLease(allocID, addr.String()); err != nil {
		return netip.Addr{}, fmt.Errorf("store lease: %w", err)
	}
	return addr, nil
}

func (a *Allocator) firstFree(used map[netip.Addr]bool) (netip.Addr, error) {
	for addr := a.gateway.Next(); a.subnet.Contains(addr); addr = addr.Next() {
		if !a.subnet.Contains(addr.Next()) {
			break // the broadcast address
		}
		if !used[addr] {
			return addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", a.subnet, ErrSubnetFull)
}

// Release drops the allocation's lease; releasing twice is fine.
func (a *Allocator) Release(allocID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.store.DeleteLease(allocID); err != nil {
		return fmt.Errorf("release lease of %s: %w", allocID, err)
	}
	return nil
}

// Leases returns every lease in this allocator's subnet.
func (a *Allocator) Leases() (map[string]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	raw, err := a.store.Leases()
	if err != nil {
		return nil, err
	}
	out := make(map[string]netip.Addr, len(raw))
	for id, s := range raw {
		if addr, err := netip.ParseAddr(s); err == nil && a.subnet.Contains(addr) {
			out[id] = addr
		}
	}
	return out, nil
}

// MemLeaseStore keeps leases in memory (tests, the benchmark).
type MemLeaseStore struct {
	mu sync.Mutex
	m  map[string]string
}

// Leases implements LeaseStore.
func (s *MemLeaseStore) Leases() (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.m))
	for k, v := range s.m {
		out[k] = v
	}
	return out, nil
}

// PutLease implements LeaseStore.
func (s *MemLeaseStore) PutLease(id, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[id] = addr
	return nil
}

// DeleteLease implements LeaseStore.
func (s *MemLeaseStore) DeleteLease(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
