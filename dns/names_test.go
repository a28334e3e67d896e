package dns

import (
	"net"
	"testing"
)

func TestParseName(t *testing.T) {
	cases := []struct {
		name string
		want query
	}{
		{"consul.", query{kind: kindApex}},
		{"web.service.consul.", query{kind: kindService, name: "web"}},
		{"WEB.Service.CONSUL.", query{kind: kindService, name: "web"}},
		{"web.service.dc2.consul.", query{kind: kindService, name: "web", dc: "dc2"}},
		{"v1.web.service.consul.", query{kind: kindService, name: "web", tag: "v1"}},
		{"v1.web.service.dc1.consul.", query{kind: kindService, name: "web", tag: "v1", dc: "dc1"}},
		{"_web._tcp.service.consul.", query{kind: kindService, name: "web"}},
		{"_web._udp.consul.", query{kind: kindService, name: "web"}},
		{"_web._v1.service.dc1.consul.", query{kind: kindService, name: "web", tag: "v1", dc: "dc1"}},
		{"_web._v1.dc1.consul.", query{kind: kindService, name: "web", tag: "v1", dc: "dc1"}},
		{"node.service.consul.", query{kind: kindService, name: "node"}},
		{"n1.node.consul.", query{kind: kindNode, name: "n1"}},
		{"n1.node.dc1.consul.", query{kind: kindNode, name: "n1", dc: "dc1"}},
		{"7f000001.addr.dc1.consul.", query{kind: kindAddr, ip: net.IP{127, 0, 0, 1}, dc: "dc1"}},
		// Not names the server knows: NXDOMAIN.
		{"service.consul.", query{}},
		{"web.consul.", query{}},
		{"a.b.web.service.consul.", query{}},
		{"_web._tcp.service.dc1.extra.consul.", query{}},
		{"a.b.node.consul.", query{}},
		{"zzzz.addr.consul.", query{}},
		{"7f00000.addr.consul.", query{}},
		{"web.service.dc1.extra.consul.", query{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseName(c.name, "consul.")
			c.want.domain = "consul."
			if got.kind != c.want.kind || got.name != c.want.name || got.tag != c.want.tag || got.dc != c.want.dc || !got.ip.Equal(c.want.ip) {
				t.Fatalf("parseName(%q) = %+v, want %+v", c.name, got, c.want)
			}
		})
	}
}

func TestInZone(t *testing.T) {
	zones := []string{"consul.", "roam."}
	for name, want := range map[string]string{
		"web.service.consul.": "consul.", "web.service.roam.": "roam.", "consul.": "consul.",
		"example.com.": "", "notconsul.": "", "consul.example.com.": "",
	} {
		if got := inZone(name, zones); got != want {
			t.Errorf("inZone(%q) = %q, want %q", name, got, want)
		}
	}
}
