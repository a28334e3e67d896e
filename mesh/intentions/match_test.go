package intentions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func in(srcNS, src, dstNS, dst string, a structs.IntentionAction) *structs.Intention {
	i := &structs.Intention{ID: srcNS + "/" + src + ">" + dstNS + "/" + dst, SourceNS: srcNS, SourceName: src, DestinationNS: dstNS, DestinationName: dst, Action: a}
	i.Precedence = Precedence(i)
	return i
}

func TestPrecedenceNineLevels(t *testing.T) {
	cases := []struct {
		srcNS, src, dstNS, dst string
		want                   int
	}{
		{"default", "web", "default", "api", 9},
		{"default", "*", "default", "api", 8},
		{"*", "*", "default", "api", 7},
		{"default", "web", "default", "*", 6},
		{"default", "*", "default", "*", 5},
		{"*", "*", "default", "*", 4},
		{"default", "web", "*", "*", 3},
		{"default", "*", "*", "*", 2},
		{"*", "*", "*", "*", 1},
	}
	for _, c := range cases {
		if got := Precedence(in(c.srcNS, c.src, c.dstNS, c.dst, "allow")); got != c.want {
			t.Errorf("%s/%s => %s/%s: precedence %d, want %d", c.srcNS, c.src, c.dstNS, c.dst, got, c.want)
		}
	}
}

func TestMatchFirstByPrecedenceThenDefault(t *testing.T) {
	const A, D = structs.IntentionActionAllow, structs.IntentionActionDeny
	web, api, db := Service{"default", "web"}, Service{"default", "api"}, Service{"default", "db"}
	other := Service{"prod", "web"}
	cases := []struct {
		name    string
		list    []*structs.Intention
		def     Policy
		src     Service
		dst     Service
		allowed bool
		reason  string
	}{
		{"nothing matches: default allow", nil, PolicyAllow, web, api, true, "Default intention policy"},
		{"nothing matches: default deny", nil, PolicyDeny, web, api, false, "Default intention policy"},
		{"exact deny", []*structs.Intention{in("default", "web", "default", "api", D)}, PolicyAllow, web, api, false, "Precedence: 9"},
		{"exact allow beats wildcard deny", []*structs.Intention{in("*", "*", "*", "*", D), in("default", "web", "default", "api", A)}, PolicyAllow, web, api, true, "Precedence: 9"},
		{"wildcard deny when no exact", []*structs.Intention{in("*", "*", "*", "*", D), in("default", "web", "default", "api", A)}, PolicyAllow, web, db, false, "Precedence: 1"},
		{"source wildcard beats destination wildcard", []*structs.Intention{in("default", "web", "default", "*", A), in("default", "*", "default", "api", D)}, PolicyAllow, web, api, false, "Precedence: 8"},
		{"namespace must match", []*structs.Intention{in("default", "web", "default", "api", D)}, PolicyAllow, other, api, true, "Default intention policy"},
		{"namespace wildcard covers other namespaces", []*structs.Intention{in("*", "*", "default", "api", D)}, PolicyAllow, other, api, false, "Precedence: 7"},
		{"empty namespace means default", []*structs.Intention{in("default", "web", "default", "api", D)}, PolicyAllow, Service{"", "web"}, Service{"", "api"}, false, "Precedence: 9"},
		{"allow over default deny", []*structs.Intention{in("default", "*", "default", "api", A)}, PolicyDeny, web, api, true, "Precedence: 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewSet(c.list, c.def, 1).Decide(c.src, c.dst)
			if d.Allowed != c.allowed || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("got allowed=%v reason %q, want allowed=%v reason containing %q", d.Allowed, d.Reason, c.allowed, c.reason)
			}
		})
	}
}

func TestNormalizeRefusesBadIntentions(t *testing.T) {
	cases := []struct {
		name string
		i    structs.Intention
		want string
	}{
		{"partial glob", structs.Intention{SourceName: "web-*", DestinationName: "api", Action: "allow"}, "a wildcard must be the whole name"},
		{"unknown action", structs.Intention{SourceName: "web", DestinationName: "api", Action: "maybe"}, `unknown intention action "maybe"`},
		{"missing destination", structs.Intention{SourceName: "web", Action: "deny"}, "destination name is required"},
		{"wildcard namespace exact name", structs.Intention{SourceNS: "*", SourceName: "web", DestinationName: "api", Action: "deny"}, `source namespace "*" requires source name "*"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Normalize(&c.i)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an invalid-intention error containing %q", err, c.want)
			}
		})
	}
	ok := structs.Intention{SourceName: "*", DestinationName: "api", Action: "deny"}
	if err := Normalize(&ok); err != nil || ok.SourceNS != "default" || ok.Precedence != 8 {
		t.Fatalf("normalize: %v %+v", err, ok)
	}
}

// fakeLister stands in for the servers' list RPC: a blocking query over a
// list the test changes.
type fakeLister struct {
	mu    sync.Mutex
	list  []*structs.Intention
	index uint64
	ch    chan struct{}
}

func (f *fakeLister) set(list ...*structs.Intention) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list, f.index = list, f.index+1
	close(f.ch)
	f.ch = make(chan struct{})
}

func (f *fakeLister) ListIntentions(ctx context.Context, min uint64) ([]*structs.Intention, uint64, error) {
	for {
		f.mu.Lock()
		l, idx, ch := f.list, f.index, f.ch
		f.mu.Unlock()
		if idx > min {
			return l, idx, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func TestCacheFollowsChangesAndSignals(t *testing.T) {
	f := &fakeLister{ch: make(chan struct{}), index: 0}
	c := NewCache(f, PolicyAllow, testutil.Logger(t))
	web, api := Service{"default", "web"}, Service{"default", "api"}
	if d := c.Decide(web, api); d.Allowed {
		t.Fatalf("before the first list the cache must deny, got %+v", d)
	}
	sub, stop, err := c.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	f.set()
	<-c.Ready()
	if d := c.Decide(web, api); !d.Allowed {
		t.Fatalf("empty set with default allow: %+v", d)
	}
	drain(sub)
	f.set(in("default", "web", "default", "api", structs.IntentionActionDeny))
	select {
	case <-sub:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after a change")
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if c.Decide(web, api).Allowed {
			return errors.New("deny not applied yet")
		}
		return nil
	})
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// Wait blocks until the node's set passes the index asked for, and
// answers with the newest set when its wait ends first.
func TestCacheWaitBlocksUntilANewerSet(t *testing.T) {
	f := &fakeLister{ch: make(chan struct{})}
	c := NewCache(f, PolicyAllow, testutil.Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	f.set()
	first, err := c.Wait(ctx, 0)
	if err != nil || first == nil || first.Index != 1 {
		t.Fatalf("first set: %+v, %v; want index 1", first, err)
	}
	got := make(chan *Set, 1)
	go func() {
		s, _ := c.Wait(ctx, first.Index)
		got <- s
	}()
	f.set(in("default", "web", "default", "api", structs.IntentionActionDeny))
	select {
	case s := <-got:
		if s.Index != 2 || len(s.Intentions()) != 1 {
			t.Fatalf("after the change: index %d with %d intentions, want 2 with 1", s.Index, len(s.Intentions()))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after a change")
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if s, err := c.Wait(short, 2); err != nil || s == nil || s.Index != 2 {
		t.Fatalf("wait that times out: %+v, %v; want the current set", s, err)
	}
}
