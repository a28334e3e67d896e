package docker

import (
	"strings"
	"testing"
)

func TestTaskResolvConf(t *testing.T) {
	group := "# from the host\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch a.example b.example\noptions ndots:2\n"
	cases := []struct {
		name     string
		tc       TaskConfig
		want     []string
		wantGone []string
	}{
		{
			name:     "servers replace the group's; search and options kept",
			tc:       TaskConfig{DNSServers: []string{"192.0.2.53", "192.0.2.54"}},
			want:     []string{"nameserver 192.0.2.53\nnameserver 192.0.2.54\n", "search a.example b.example\n", "options ndots:2\n", "# from the host\n"},
			wantGone: []string{"10.0.0.2", "10.0.0.3"},
		},
		{
			name:     "search domains and options replace the group's; servers kept",
			tc:       TaskConfig{DNSSearchDomains: []string{"svc.example"}, DNSOptions: []string{"timeout:1", "rotate"}},
			want:     []string{"nameserver 10.0.0.2\nnameserver 10.0.0.3\n", "search svc.example\n", "options timeout:1 rotate\n"},
			wantGone: []string{"a.example", "ndots"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := taskResolvConf(group, &c.tc)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.wantGone {
				if strings.Contains(got, w) {
					t.Errorf("keeps %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestTaskHosts(t *testing.T) {
	cases := []struct {
		name, group, want string
	}{
		{"after the group's", "127.0.0.1\tlocalhost\n", "127.0.0.1\tlocalhost\n# extra_hosts of the task, added by roam\n10.9.8.7\tdb.internal\nfd00::1\tv6\n"},
		{"group file without a final newline", "127.0.0.1\tlocalhost", "127.0.0.1\tlocalhost\n# extra_hosts of the task, added by roam\n10.9.8.7\tdb.internal\nfd00::1\tv6\n"},
		{"no group file", "", "# extra_hosts of the task, added by roam\n10.9.8.7\tdb.internal\nfd00::1\tv6\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := taskHosts(c.group, []string{"db.internal:10.9.8.7", "v6:fd00::1"}); got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}
