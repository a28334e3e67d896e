package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	vnetns "github.com/vishvananda/netns"
)

// Do runs fn inside the network namespace at nsPath and returns its error.
//
// fn runs on a goroutine of its own, locked to its OS thread for the whole
// call: the caller's goroutine and thread never change namespace, whatever
// fn does. Afterwards the thread goes back to the namespace it came from;
// if it cannot, it stays locked and the runtime retires it when the
// goroutine ends, so no goroutine is ever scheduled on a thread left in the
// wrong namespace. A panic in fn is re-raised in the caller.
//
// Only fn's own goroutine is inside: goroutines fn starts run on other
// threads, in the host's namespace. A socket fn opens belongs to the
// namespace for its whole life, whichever thread uses it later (Listen,
// Dialer).
func Do(nsPath string, fn func() error) error {
	target, err := vnetns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", nsPath, err)
	}
	defer target.Close()
	done := make(chan doResult, 1)
	go func() { done <- doLocked(nsPath, target, fn) }()
	r := <-done
	if r.panicked {
		panic(r.panic)
	}
	return r.err
}

type doResult struct {
	err      error
	panicked bool
	panic    any
}

// doLocked is Do's goroutine: lock, enter, run, restore (or keep the
// thread locked so that it dies with the goroutine).
func doLocked(nsPath string, target vnetns.NsHandle, fn func() error) (r doResult) {
	runtime.LockOSThread()
	orig, err := vnetns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return doResult{err: fmt.Errorf("the thread's own namespace: %w", err)}
	}
	defer orig.Close()
	if err := vnetns.Set(target); err != nil {
		runtime.UnlockOSThread() // setns failed: the thread did not move
		return doResult{err: fmt.Errorf("enter namespace %s: %w", nsPath, err)}
	}
	r = runCatching(fn)
	if err := vnetns.Set(orig); err != nil {
		r.err = errors.Join(r.err, fmt.Errorf("leave namespace %s: %w", nsPath, err))
		return r // still locked: the runtime retires the thread
	}
	runtime.UnlockOSThread()
	return r
}

// runCatching runs fn and turns a panic into a result, so that the
// thread is restored before the panic travels on.
func runCatching(fn func() error) (r doResult) {
	defer func() {
		if p := recover(); p != nil {
			r = doResult{panicked: true, panic: p}
		}
	}()
	return doResult{err: fn()}
}

// Listen opens a listener inside the namespace at nsPath, as net.Listen
// ("tcp", "127.0.0.1:8080"): a health check's or a proxy's socket in an
// allocation's network. The host part must be an IP address or empty (a
// name would be resolved by goroutines outside the namespace).
func Listen(ctx context.Context, nsPath, network, address string) (net.Listener, error) {
	if err := literalHost(address); err != nil {
		return nil, fmt.Errorf("listen %s in %s: %w", address, nsPath, err)
	}
	var ln net.Listener
	err := Do(nsPath, func() (err error) {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, network, address)
		return err
	})
	return ln, err
}

// ListenPacket is Listen for datagrams ("udp").
func ListenPacket(ctx context.Context, nsPath, network, address string) (net.PacketConn, error) {
	if err := literalHost(address); err != nil {
		return nil, fmt.Errorf("listen %s in %s: %w", address, nsPath, err)
	}
	var pc net.PacketConn
	err := Do(nsPath, func() (err error) {
		var lc net.ListenConfig
		pc, err = lc.ListenPacket(ctx, network, address)
		return err
	})
	return pc, err
}

// Dialer returns a DialContext (the shape http.Transport takes) whose
// connections are opened by d inside the namespace at nsPath: a check or a
// proxy reaching a task as another process of the allocation would. d may
// be nil. Addresses must be IP:port, for the reason Listen gives.
func Dialer(nsPath string, d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if err := literalHost(address); err != nil {
			return nil, fmt.Errorf("dial %s from %s: %w", address, nsPath, err)
		}
		var c net.Conn
		err := Do(nsPath, func() (err error) {
			c, err = d.DialContext(ctx, network, address)
			return err
		})
		return c, err
	}
}

// literalHost refuses an address whose host is a name.
func literalHost(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	return nil
}
