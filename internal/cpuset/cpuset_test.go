package cpuset

import (
	"slices"
	"testing"
)

func TestFormatParse(t *testing.T) {
	tests := []struct {
		cores []uint16
		s     string
	}{
		{nil, ""},
		{[]uint16{3}, "3"},
		{[]uint16{0, 1, 2, 7}, "0-2,7"},
		{[]uint16{0, 2, 4, 5}, "0,2,4-5"},
	}
	for _, tc := range tests {
		if got := Format(tc.cores); got != tc.s {
			t.Errorf("Format(%v) = %q, want %q", tc.cores, got, tc.s)
		}
		if got, err := Parse(tc.s); err != nil || !slices.Equal(got, tc.cores) {
			t.Errorf("Parse(%q) = %v, %v", tc.s, got, err)
		}
	}
	if got := Format([]uint16{7, 0, 2, 1, 1}); got != "0-2,7" {
		t.Errorf("unsorted: %q", got)
	}
	for _, bad := range []string{"a", "3-1", "1-x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) should fail", bad)
		}
	}
}
