package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/confine"
)

// hostSecrets are the host paths (glob patterns) masked inside every task
// root that a chroot_env entry brings them into: chroot_env lends the host's
// userland (programs, libraries, /etc for users and name resolution), and
// these are the parts of it that are credentials, not userland. A task
// running as root could read them otherwise. Files are covered with
// /dev/null, directories with an empty read-only tmpfs; paths the host does
// not have are skipped. To hand a task one of these on purpose, an operator
// uses a host volume (volume_mount), which is never masked.
var hostSecrets = []string{
	"/etc/shadow", "/etc/shadow-", // password hashes
	"/etc/gshadow", "/etc/gshadow-", // group password hashes
	"/etc/security/opasswd",          // old password hashes kept by pam_pwhistory
	"/etc/sudoers", "/etc/sudoers.d", // who may become root, and how: a map for an attacker
	"/etc/ssh/ssh_host_*_key",                    // ssh host private keys: impersonate the host
	"/etc/ssl/private",                           // TLS private keys (Debian)
	"/etc/pki/tls/private",                       // TLS private keys (Red Hat)
	"/etc/letsencrypt",                           // ACME account and certificate keys
	"/etc/krb5.keytab",                           // Kerberos host keys
	"/etc/wireguard",                             // WireGuard private keys
	"/etc/ipsec.secrets", "/etc/ipsec.d/private", // IPsec keys
	"/etc/NetworkManager/system-connections", // Wi-Fi and VPN passwords
	"/etc/roam", "/etc/roam.d",               // the agent's own config: ACL tokens, gossip and TLS keys
	"/etc/docker", // Docker daemon TLS keys and registry settings
}

// chrootMasks returns the paths, inside the task's root, that hostSecrets
// land on through the chroot_env binds: a secret inside an entry's source
// (/etc/shadow under /etc) is masked at the matching path under the
// entry's destination; an entry that is itself a secret, or inside one
// (chroot_env {"/etc/ssl/private" = "/keys"}), is masked whole. Symlinks
// are resolved on the host, as chrootBinds resolves the sources. A mask
// another bind covers (covered) is left out.
func chrootMasks(binds, others []bindMount) []string {
	var out []string
	for _, pattern := range hostSecrets {
		matches, _ := filepath.Glob(pattern) // the patterns are constants: no ErrBadPattern
		for _, m := range matches {
			real, err := filepath.EvalSymlinks(m)
			if err != nil {
				continue
			}
			for _, b := range binds {
				dst, ok := maskDest(b, real)
				if dst = filepath.Clean("/" + dst); ok && !covered(dst, b, others) {
					out = append(out, dst)
				}
			}
		}
	}
	slices.Sort(out) // two entries can bring in the same path
	return slices.Compact(out)
}

// maskDest is where the host secret real appears in the task's root through
// the chroot_env bind b, if it does.
func maskDest(b bindMount, real string) (string, bool) {
	if within(b.Source, real) {
		rel, err := filepath.Rel(b.Source, real)
		if err != nil {
			return "", false
		}
		return filepath.Join(b.Dest, rel), true
	}
	if within(real, b.Source) {
		return b.Dest, true
	}
	return "", false
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// covered reports whether another bind (a host volume, /alloc) is mounted
// over the mask path m after the chroot_env bind that brought it in: then m
// shows what that bind holds, not the secret, and a host volume is how an
// operator hands a task a host path on purpose. Only a bind at or under
// the chroot_env entry's destination is mounted after it (parents first);
// a volume at "/" is mounted before /etc and covers nothing of it.
func covered(m string, from bindMount, others []bindMount) bool {
	fromDest := filepath.Clean("/" + from.Dest)
	for _, o := range others {
		d := filepath.Clean("/" + o.Dest)
		if within(fromDest, d) && within(d, m) {
			return true
		}
	}
	return false
}

// applyMasks covers each mask path in the new root, after every bind: a
// file with the host's /dev/null, a directory with an empty read-only
// tmpfs. The path is opened inside the root and mounted on by descriptor,
// as the binds are.
func applyMasks(masks []string) error {
	for _, m := range masks {
		if err := maskPath(m); err != nil {
			return fmt.Errorf("mask %s: %w", m, err)
		}
	}
	return nil
}

func maskPath(p string) error {
	f, err := confine.Open("/", strings.TrimPrefix(filepath.Clean("/"+p), "/"), confine.InRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := outsideHost(f); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	target := fdPath(int(f.Fd()))
	if fi.IsDir() {
		return unix.Mount("tmpfs", target, "tmpfs",
			unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=700")
	}
	return unix.Mount(hostDir+"/dev/null", target, "", unix.MS_BIND, "")
}
