package proxy

import (
	"testing"
	"time"
)

func TestBalancerRoundRobinAndEjection(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBalancer(Ejection{MaxFailures: 2, Duration: 10 * time.Second}, func() time.Time { return now })
	insts := []Instance{{"a"}, {"b"}, {"c"}}
	var firsts []string
	for range 3 {
		firsts = append(firsts, b.order(insts)[0].Addr)
	}
	if got := firsts; got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("round robin starts %v, want a b c", got)
	}
	b.failed("b")
	if len(b.order(insts)) != 3 {
		t.Fatal("one failure ejected b")
	}
	b.failed("b")
	for range 3 {
		for _, in := range b.order(insts) {
			if in.Addr == "b" {
				t.Fatal("b offered while ejected")
			}
		}
	}
	now = now.Add(11 * time.Second)
	if len(b.order(insts)) != 3 {
		t.Fatal("b still ejected after the ejection time")
	}
	b.failed("a")
	b.failed("a")
	b.failed("b")
	b.failed("b")
	b.failed("c")
	b.failed("c")
	if len(b.order(insts)) != 3 {
		t.Fatal("all ejected: every instance should still be tried")
	}
}
