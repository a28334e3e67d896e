package cgroups

import (
	"reflect"
	"testing"
)

func TestV1Settings(t *testing.T) {
	got := v1Settings(Limits{CPUShares: 500, MemoryMaxBytes: 128 << 20, MemoryLowBytes: 64 << 20, PidsMax: 100})
	want := map[string][]setting{
		"cpu": {{file: "cpu.shares", value: "500"}},
		"memory": {
			{file: "memory.memsw.limit_in_bytes", value: "-1", optional: true},
			{file: "memory.limit_in_bytes", value: "134217728"},
			{file: "memory.memsw.limit_in_bytes", value: "134217728", optional: true},
			{file: "memory.soft_limit_in_bytes", value: "67108864"},
		},
		"pids": {{file: "pids.max", value: "100"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v1 settings\n got %+v\nwant %+v", got, want)
	}
	if got := v1Settings(Limits{CPUShares: 1}); got["cpu"][0].value != "2" {
		t.Fatalf("shares below the kernel minimum: %+v", got)
	}
	if got := v1Settings(Limits{}); len(got) != 0 {
		t.Fatalf("no limits: %+v", got)
	}
}

func TestV2Settings(t *testing.T) {
	got := v2Settings(Limits{CPUShares: 1024, MemoryMaxBytes: 32 << 20, MemoryLowBytes: 16 << 20})
	want := []setting{
		{file: "cpu.weight", value: "39"},
		{file: "memory.max", value: "33554432"},
		{file: "memory.swap.max", value: "0", optional: true},
		{file: "memory.low", value: "16777216"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v2 settings\n got %+v\nwant %+v", got, want)
	}
}

func TestSharesToWeight(t *testing.T) {
	for _, tc := range []struct{ shares, weight int64 }{
		{0, 1}, {2, 1}, {100, 4}, {1024, 39}, {262144, 10000}, {1 << 30, 10000},
	} {
		if got := sharesToWeight(tc.shares); got != tc.weight {
			t.Errorf("sharesToWeight(%d) = %d, want %d", tc.shares, got, tc.weight)
		}
	}
}
