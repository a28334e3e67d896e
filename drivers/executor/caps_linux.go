package executor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// dropPrivileges turns the init step (root, every capability) into the task's
// identity on the calling thread, the one that execs the task:
//
//  1. every capability not kept leaves the bounding set, so nothing the
//     task execs (setuid binaries included) can regain it;
//  2. supplementary groups are dropped, then gid and uid are set;
//  3. the kept capabilities become the permitted, effective and inheritable
//     sets; for a non-root user, who would lose them at exec, they are also
//     raised as ambient capabilities.
//
// The raw set*id syscalls change this thread only, which is what execve
// carries over (Go's own wrappers change every thread of the process).
func dropPrivileges(uid, gid uint32, keep []uint, lastCap int) error {
	mask, err := capMask(keep, lastCap)
	if err != nil {
		return err
	}
	for c := 0; c <= lastCap; c++ {
		if mask&(1<<c) == 0 {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if uid != 0 && mask != 0 {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("keep capabilities across setuid: %w", err)
		}
	}
	if err := setIDs(uid, gid); err != nil {
		return err
	}
	if err := setCaps(mask); err != nil {
		return err
	}
	if uid == 0 {
		return nil
	}
	for _, c := range keep {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", c, err)
		}
	}
	return nil
}

func capMask(keep []uint, lastCap int) (uint64, error) {
	var mask uint64
	for _, c := range keep {
		if int(c) > lastCap || c > 63 {
			return 0, fmt.Errorf("capability %d is unknown to this kernel (last is %d)", c, lastCap)
		}
		mask |= 1 << c
	}
	return mask, nil
}

// setIDs sets groups, gid and uid of the calling thread. (The 32-bit ID
// syscalls: these numbers are the plain ones on amd64 and arm64.)
func setIDs(uid, gid uint32) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("drop supplementary groups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("set gid %d: %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("set uid %d: %w", uid, e)
	}
	return nil
}

// setCaps sets the permitted, effective and inheritable sets to mask.
func setCaps(mask uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		v := uint32(mask >> (32 * i))
		data[i] = unix.CapUserData{Effective: v, Permitted: v, Inheritable: v}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	return nil
}
