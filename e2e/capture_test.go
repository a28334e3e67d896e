package e2e

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// captureTCP records, on interface ifname, the payloads of the IPv4 TCP
// segments from or to each of ports while during runs, by port: what a
// packet capture on that link would show. It needs root (an AF_PACKET
// socket).
func captureTCP(t *testing.T, ifname string, ports []int, during func()) map[int][][]byte {
	t.Helper()
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(proto))
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: iface.Index}); err != nil {
		t.Fatalf("bind to %s: %v", ifname, err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	done, stop := make(chan struct{}), make(chan struct{})
	out := map[int][][]byte{}
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
				if p := tcpPayload(buf[:n], port); len(p) > 0 {
					out[port] = append(out[port], append([]byte(nil), p...))
				}
			}
		}
	}()
	during()
	close(stop)
	<-done
	return out
}

// tcpPayload is the TCP payload of an Ethernet frame carrying IPv4 TCP
// from or to port, nil otherwise.
func tcpPayload(f []byte, port int) []byte {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_IP {
		return nil
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != unix.IPPROTO_TCP || len(ip) < ihl+20 {
		return nil
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < len(ip) {
		ip = ip[:total]
	}
	tcp := ip[ihl:]
	src, dst := int(binary.BigEndian.Uint16(tcp[0:2])), int(binary.BigEndian.Uint16(tcp[2:4]))
	if src != port && dst != port {
		return nil
	}
	off := int(tcp[12]>>4) * 4
	if len(tcp) < off {
		return nil
	}
	return tcp[off:]
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
