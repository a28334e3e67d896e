package httpapi

import (
	"net/http/httptest"
	"testing"
)

// TestAnswerKey: the key ignores only when to answer (index, wait) and the
// order of parameters; the token and the answer's index set it apart.
func TestAnswerKey(t *testing.T) {
	key := func(url, token string, index uint64) string {
		r := httptest.NewRequest("GET", url, nil)
		if token != "" {
			r.Header.Set("X-Nomad-Token", token)
		}
		return answerKey(r, index, "")
	}
	base := key("/v1/service/web?namespace=a&choose=1|k", "", 7)
	for _, tc := range []struct {
		name string
		got  string
		same bool
	}{
		{"index and wait", key("/v1/service/web?namespace=a&choose=1|k&index=3&wait=5s", "", 7), true},
		{"parameter order", key("/v1/service/web?choose=1|k&namespace=a", "", 7), true},
		{"token", key("/v1/service/web?namespace=a&choose=1|k", "secret", 7), false},
		{"answer index", key("/v1/service/web?namespace=a&choose=1|k", "", 8), false},
		{"namespace", key("/v1/service/web?namespace=b&choose=1|k", "", 7), false},
		{"choose", key("/v1/service/web?namespace=a&choose=2|k", "", 7), false},
		{"path", key("/v1/service/db?namespace=a&choose=1|k", "", 7), false},
	} {
		if (tc.got == base) != tc.same {
			t.Errorf("%s: same key %v, want %v", tc.name, tc.got == base, tc.same)
		}
	}
}
