package allocrunner

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

func TestAgentResolvConf(t *testing.T) {
	host := "# host\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nnameserver 10.1.1.2\nnameserver 10.1.1.3\nsearch corp.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n"
	cases := []struct {
		name string
		job  *structs.DNSConfig
		want string
	}{
		{"host search, options and reachable fallbacks (glibc reads three)", nil,
			"nameserver 127.0.0.1\nnameserver 10.1.1.1\nnameserver 10.1.1.2\nsearch corp.example\noptions edns0 trust-ad\n"},
		{"the job's searches and options instead of the host's", &structs.DNSConfig{Searches: []string{"svc.example"}, Options: []string{"ndots:2"}},
			"nameserver 127.0.0.1\nsearch svc.example\noptions ndots:2\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := agentResolvConf("127.0.0.1", c.job, host)
			const head = "# written by roam: the agent answers DNS at 127.0.0.1 inside this namespace\n"
			if got != head+c.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, head+c.want)
			}
		})
	}
}
