package executor

import "testing"

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
	// A host volume or /alloc mounted over the mask, after the chroot_env
	// entry, takes precedence; one mounted before it (a job's volume_mount
	// at "/") does not.
	etc := bindMount{Source: "/etc", Dest: "/etc"}
	for _, c := range []struct {
		mask, vol string
		want      bool
	}{
		{"/etc/ssl/private", "etc/ssl/", true},
		{"/etc/shadow", "/etc/shadow", true},
		{"/etc/shadow", "/etc", true},
		{"/etc/shadow", "/", false},
		{"/etc/shadow", "/alloc", false},
		{"/etc/shadow", "/etc/ssl", false},
	} {
		if got := covered(c.mask, etc, []bindMount{{Dest: c.vol}}); got != c.want {
			t.Errorf("mask %s, volume at %s: covered %v, want %v", c.mask, c.vol, got, c.want)
		}
	}
}
