package netns

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultOwnersDir is where each running client records what it makes on
// the host. /run goes with a reboot, as do the namespaces, links and rules
// the records describe.
const DefaultOwnersDir = "/run/roam/agents"

// Ownership: every client that sets up networks holds an Owner, three
// entries in the owners directory named by its node ID:
//
//	<id>.lock     flock(LOCK_EX) held for as long as the client runs
//	<id>.json     OwnerInfo: how its bridge, chains and veths are named
//	<id>.allocs/  one empty file per allocation whose namespace, veth or
//	              rules it made (written before making them)
//
// A record whose lock can be taken belongs to a client that is no longer
// running. If that client's state went with it (OwnerInfo.Ephemeral: a
// -dev agent's temporary data dir), nothing can ever re-attach to what it
// made, and the next client to start removes it (RemoveLeftover); records
// of other clients stay for their next start, which re-attaches. A record
// whose lock is held is never touched.

// OwnerInfo describes a client's host networking, enough for another
// process to find and remove what it made.
type OwnerInfo struct {
	ID  string `json:"id"`
	PID int    `json:"pid"`
	// Ephemeral says the client's state goes with the process, so that
	// no later client can re-attach to its allocations.
	Ephemeral   bool   `json:"ephemeral"`
	Bridge      string `json:"bridge,omitempty"`
	ChainPrefix string `json:"chain_prefix,omitempty"`
	VethPrefix  string `json:"veth_prefix,omitempty"`
	Firewall    string `json:"firewall,omitempty"`
}

// Owner is a running client's ownership record (see above). Claim and
// Unclaim are safe for concurrent use.
type Owner struct {
	dir  string
	info OwnerInfo
	lock *os.File
}

// AcquireOwner takes the lock of info.ID in dir and writes its record. A
// client restarted with the same ID takes over its earlier record, and
// its claims, which its restored allocations still hold.
func AcquireOwner(dir string, info OwnerInfo) (*Owner, error) {
	if info.ID == "" || strings.ContainsAny(info.ID, "/.") {
		return nil, fmt.Errorf("owner id %q: want a node ID", info.ID)
	}
	o := &Owner{dir: dir, info: info}
	if err := os.MkdirAll(o.allocsDir(info.ID), 0o700); err != nil {
		return nil, fmt.Errorf("owner record: %w", err)
	}
	f, err := lockOwner(dir, info.ID)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("owner record %s: another running client holds it (same node ID, same state dir?)", info.ID)
	}
	o.lock = f
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, info.ID+".json"), b, 0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("owner record: %w", err)
	}
	return o, nil
}

// lockOwner takes id's lock without waiting: nil, nil when a running
// client holds it.
func lockOwner(dir, id string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, id+".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("owner lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("owner lock %s: %w", id, err)
	}
	return f, nil
}

func (o *Owner) allocsDir(id string) string { return filepath.Join(o.dir, id+".allocs") }

// Info is the record this owner wrote.
func (o *Owner) Info() OwnerInfo { return o.info }

// Claim records that this client makes allocID's namespace, veth or rules.
// It is called before any of them is made.
func (o *Owner) Claim(allocID string) error {
	if err := validAllocName(allocID); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(o.allocsDir(o.info.ID), allocID), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("claim alloc %s: %w", allocID, err)
	}
	return f.Close()
}

// Unclaim drops the claim once allocID's network is gone.
func (o *Owner) Unclaim(allocID string) error {
	if err := validAllocName(allocID); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(o.allocsDir(o.info.ID), allocID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unclaim alloc %s: %w", allocID, err)
	}
	return nil
}

// Close releases the lock. With remove, the record goes too (its client
// made nothing that is left); without, it stays for the next start.
func (o *Owner) Close(remove bool) error {
	var err error
	if remove {
		err = removeRecord(o.dir, o.info.ID)
	}
	return errors.Join(err, o.lock.Close())
}

func removeRecord(dir, id string) error {
	return errors.Join(
		os.RemoveAll(filepath.Join(dir, id+".allocs")),
		rmIfExists(filepath.Join(dir, id+".json")),
		rmIfExists(filepath.Join(dir, id+".lock")),
	)
}

func rmIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func validAllocName(id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return fmt.Errorf("alloc id %q: not a file name", id)
	}
	return nil
}

// Leftover is the record of a client that is no longer running.
type Leftover struct {
	Info   OwnerInfo
	Allocs []string
}

// Removable says whether nothing can re-attach to what the client made.
func (l Leftover) Removable() bool { return l.Info.Ephemeral }

// Owners reads the records in dir: those of running clients and the
// leftovers of stopped ones. A missing dir has none.
func Owners(dir string) (live []OwnerInfo, left []Leftover, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		id := strings.TrimSuffix(filepath.Base(p), ".json")
		info, err := readInfo(p)
		if err != nil {
			continue // half written by a client starting now
		}
		f, err := lockOwner(dir, id)
		if err != nil {
			return nil, nil, err
		}
		if f == nil {
			live = append(live, info)
			continue
		}
		f.Close()
		left = append(left, Leftover{Info: info, Allocs: claims(dir, id)})
	}
	return live, left, nil
}

func readInfo(path string) (OwnerInfo, error) {
	var info OwnerInfo
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	return info, err
}

func claims(dir, id string) []string {
	ents, _ := os.ReadDir(filepath.Join(dir, id+".allocs"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// RemoveLeftover removes what a stopped client made: each claimed
// allocation's firewall rules, host veth and namespace, then its bridge
// (rules and device) unless a running client in live uses a bridge of that
// name, then the record. It holds the record's lock while it works, and
// leaves a record whose client started again meanwhile.
func RemoveLeftover(dir string, l Leftover, live []OwnerInfo) error {
	id := l.Info.ID
	f, err := lockOwner(dir, id)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	fw, err := newFirewall(l.Info.Firewall, orDefault(l.Info.ChainPrefix, DefaultChainPrefix))
	if err != nil {
		return fmt.Errorf("leftovers of %s: %w", id, err)
	}
	var errs []error
	for _, allocID := range claims(dir, id) {
		errs = append(errs,
			fw.deleteAlloc(allocID),
			deleteVeth(HostVethName(orDefault(l.Info.VethPrefix, DefaultVethPrefix), allocID)),
			Delete(NamedPath(allocID)),
			rmIfExists(filepath.Join(dir, id+".allocs", allocID)),
		)
	}
	if br := l.Info.Bridge; br != "" && !slices.ContainsFunc(live, func(o OwnerInfo) bool { return o.Bridge == br }) {
		errs = append(errs, fw.destroy(br))
		if link, err := netlink.LinkByName(br); err == nil {
			errs = append(errs, netlink.LinkDel(link))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leftovers of %s: %w", id, err)
	}
	return removeRecord(dir, id)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Claims lists the allocations the record of id claims.
func Claims(dir, id string) []string { return claims(dir, id) }

// AllocRules lists the allocations that have DNAT rules in the chains of
// prefix (the iptables backend; nftables lists none). The doctor compares
// them with the running clients' claims: a rule nobody claims is stale, and
// shadows the same host port of the next allocation to map it.
func AllocRules(kind, prefix string) ([]string, error) {
	if ResolveFirewall(kind) != FirewallIptables {
		return nil, nil
	}
	r, err := newRules(orDefault(prefix, DefaultChainPrefix))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, chain := range []string{r.preChain(), r.outChain()} {
		lines, err := r.ipt.List("nat", chain)
		if err != nil {
			continue // no chain: no rules
		}
		for _, line := range lines {
			if id, ok := strings.CutPrefix(commentOf(splitRule(line)), allocComment("")); ok {
				seen[id] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// PruneLeftover drops the claims of a stopped client whose namespace and
// veth are both gone from the host (nothing is left to re-attach to or to
// remove), and the record once no claim is left. It leaves a record whose
// client started again meanwhile.
func PruneLeftover(dir string, l Leftover) error {
	id := l.Info.ID
	f, err := lockOwner(dir, id)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	left := 0
	for _, allocID := range claims(dir, id) {
		_, vethErr := netlink.LinkByName(HostVethName(orDefault(l.Info.VethPrefix, DefaultVethPrefix), allocID))
		if IsNamespace(NamedPath(allocID)) || vethErr == nil {
			left++
			continue
		}
		if err := rmIfExists(filepath.Join(dir, id+".allocs", allocID)); err != nil {
			return err
		}
	}
	if left > 0 {
		return nil
	}
	return removeRecord(dir, id)
}
