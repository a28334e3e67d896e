package artifact

import (
	"os/user"
	"strconv"
)

// nobody is the fallback fetcher identity when the host has no nobody entry.
var nobody = Credential{UID: 65534, GID: 65534}

// FetchUser is who fetches a task's artifacts: the task's user when it is a
// user of this host other than root, so the files are the task's own and
// the fetcher reads no more than the task could; nobody otherwise (a task
// run as root, a container user the host does not know, no user at all).
func FetchUser(name string) Credential {
	if c, ok := lookup(name); ok && c.UID != 0 {
		return c
	}
	if c, ok := lookup("nobody"); ok && c.UID != 0 {
		return c
	}
	return nobody
}

func lookup(name string) (Credential, bool) {
	if name == "" {
		return Credential{}, false
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Credential{}, false
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return Credential{}, false
	}
	return Credential{UID: uint32(uid), GID: uint32(gid)}, true
}
