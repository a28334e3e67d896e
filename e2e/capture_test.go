package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/netns"
)

// captureTCP records, on interface ifname, the payloads of the IPv4 TCP
// segments from or to each of ports while during runs, by port: what a
// packet capture on that link would show. It needs root (an AF_PACKET
// socket).
func captureTCP(t *testing.T, ifname string, ports []int, during func()) map[int][][]byte {
	t.Helper()
	out := map[int][][]byte{}
	for _, s := range captureSegments(t, "", ifname, ports, during) {
		out[s.port] = append(out[s.port], s.payload)
	}
	return out
}

// segment is the payload of one captured TCP segment from or to port.
type segment struct {
	port     int
	fromPort bool // sent by the side that owns port (the server's answer)
	peer     int  // the other end's port: one connection is (port, peer)
	payload  []byte
}

// captureSegments is captureTCP on an interface of the network namespace
// at nsPath ("" for the test's own; only the socket is opened there), in
// the order the segments crossed, each with its direction.
func captureSegments(t *testing.T, nsPath, ifname string, ports []int, during func()) []segment {
	t.Helper()
	var fd int
	var err error
	if nsPath == "" {
		fd, err = packetSocket(ifname)
	} else {
		err = netns.Do(nsPath, func() (err error) { fd, err = packetSocket(ifname); return err })
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	done, stop := make(chan struct{}), make(chan struct{})
	var out []segment
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				select {
				case <-stop:
					return
				default:
					continue
				}
			}
			for _, port := range ports {
				if p, from, peer := tcpPayload(buf[:n], port); len(p) > 0 {
					out = append(out, segment{port: port, fromPort: from, peer: peer, payload: append([]byte(nil), p...)})
				}
			}
		}
	}()
	during()
	close(stop)
	<-done
	return out
}

// packetSocket opens an AF_PACKET socket bound to ifname, in the calling
// thread's network namespace, that gives up waiting every 200 ms.
func packetSocket(ifname string) (int, error) {
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, err
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(proto))
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: iface.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to %s: %w", ifname, err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// tcpPayload is the TCP payload of an Ethernet frame carrying IPv4 TCP
// from or to port, nil otherwise, whether it was sent from port, and the
// other end's port.
func tcpPayload(f []byte, port int) ([]byte, bool, int) {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_IP {
		return nil, false, 0
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != unix.IPPROTO_TCP || len(ip) < ihl+20 {
		return nil, false, 0
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < len(ip) {
		ip = ip[:total]
	}
	tcp := ip[ihl:]
	src, dst := int(binary.BigEndian.Uint16(tcp[0:2])), int(binary.BigEndian.Uint16(tcp[2:4]))
	if src != port && dst != port {
		return nil, false, 0
	}
	off := int(tcp[12]>>4) * 4
	if len(tcp) < off {
		return nil, false, 0
	}
	if src == port {
		return tcp[off:], true, dst
	}
	return tcp[off:], false, src
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
