package executor

import (
	"slices"
	"testing"
)

// Where a host secret lands through a chroot_env bind, and which masks a
// host volume or /alloc takes precedence over.
func TestSecurityHostPathsMaskDest(t *testing.T) {
	cases := []struct {
		src, dst, secret, want string
	}{
		{"/etc", "/etc", "/etc/shadow", "/etc/shadow"},
		{"/etc", "/hostetc", "/etc/ssl/private", "/hostetc/ssl/private"},
		{"/etc/ssl", "/etc/ssl", "/etc/ssl/private", "/etc/ssl/private"},
		{"/etc/ssl/private", "/keys", "/etc/ssl/private", "/keys"},
		{"/etc/ssl/private/a.pem", "/a.pem", "/etc/ssl/private", "/a.pem"},
		{"/", "/host", "/etc/shadow", "/host/etc/shadow"},
		{"/etcx", "/etcx", "/etc/shadow", ""},
		{"/usr", "/usr", "/etc/shadow", ""},
	}
	for _, c := range cases {
		got, ok := maskDest(bindMount{Source: c.src, Dest: c.dst}, c.secret)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("%s -> %s, secret %s: mask %q, want %q", c.src, c.dst, c.secret, got, c.want)
		}
	}
	masks := []string{"/etc/shadow", "/etc/ssl/private", "/alloc/etc/shadow"}
	others := []bindMount{{Dest: "/alloc"}, {Dest: "etc/ssl/"}}
	if got := unshadowed(masks, others); !slices.Equal(got, []string{"/etc/shadow"}) {
		t.Errorf("unshadowed: %v", got)
	}
}
