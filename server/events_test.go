package server

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

func batchAt(index uint64, key string) structs.Events {
	return structs.Events{Index: index, Events: []structs.Event{{Topic: structs.TopicJob, Key: key, Index: index}}}
}

func indexes(bs []structs.Events) []uint64 {
	var out []uint64
	for _, b := range bs {
		out = append(out, b.Index)
	}
	return out
}

// The buffer keeps the newest entries; a reader asking from before what it
// kept is told events were dropped, one asking from what it kept is not.
func TestEventBufferKeepsNewestAndReportsDrops(t *testing.T) {
	b := newEventBuffer(3)
	for i := uint64(1); i <= 5; i++ {
		b.publish(batchAt(i*10, "j"))
	}
	b.publish(structs.Events{Index: 60}) // nothing changed: not kept
	cases := []struct {
		from    uint64
		want    []uint64
		skipped bool
	}{
		{0, []uint64{30, 40, 50}, false},
		{15, []uint64{30, 40, 50}, true},
		{20, []uint64{30, 40, 50}, true},
		{30, []uint64{30, 40, 50}, false},
		{41, []uint64{50}, false},
		{51, nil, false},
	}
	for _, c := range cases {
		got, skipped, _ := b.since(c.from)
		if len(got) != len(c.want) || skipped != c.skipped {
			t.Errorf("since(%d) = %v skipped=%v, want %v skipped=%v", c.from, indexes(got), skipped, c.want, c.skipped)
			continue
		}
		for i := range got {
			if got[i].Index != c.want[i] {
				t.Errorf("since(%d) = %v, want %v", c.from, indexes(got), c.want)
			}
		}
	}
}

// A publish wakes readers waiting for the next entry.
func TestEventBufferWakesReaders(t *testing.T) {
	b := newEventBuffer(0)
	_, _, changed := b.since(1)
	select {
	case <-changed:
		t.Fatal("changed closed before any publish")
	default:
	}
	b.publish(batchAt(1, "j"))
	<-changed
	if got, _, _ := b.since(1); len(got) != 1 {
		t.Fatalf("after publish since(1) = %v", indexes(got))
	}
}
