package cli

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/api"
)

// Terminal handling for `alloc exec -t`: raw mode while the session runs,
// the window size and its changes, and the escape sequence.

// terminalFD returns the descriptor of r when it is a terminal.
func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return fd, err == nil
}

// makeRaw puts the terminal in raw mode (as cfmakeraw does: no echo, no line
// editing, no signals from keys, 8-bit bytes) and returns how to restore it.
func makeRaw(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// watchSize sends the terminal's size now and on every SIGWINCH until stop
// is closed.
func watchSize(fd int, stop <-chan struct{}) <-chan api.TerminalSize {
	out := make(chan api.TerminalSize, 1)
	send := func() {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			select {
			case out <- api.TerminalSize{Height: int(ws.Row), Width: int(ws.Col)}:
			default:
			}
		}
	}
	send()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-sigs:
				send()
			case <-stop:
				return
			}
		}
	}()
	return out
}

// escapeReader watches typed input for the escape character at the start
// of a line: escape then "." ends the session (disconnect is called),
// escape twice sends it once, escape then anything else sends both.
type escapeReader struct {
	r          io.Reader
	esc        byte
	disconnect func()
	lineStart  bool
	pending    bool // the escape was typed; waiting for the next byte
	closed     bool // the user disconnected: no more input
}

func newEscapeReader(r io.Reader, esc byte, disconnect func()) *escapeReader {
	return &escapeReader{r: r, esc: esc, disconnect: disconnect, lineStart: true}
}

func (e *escapeReader) Read(p []byte) (int, error) {
	buf := make([]byte, len(p))
	for !e.closed {
		n, err := e.r.Read(buf)
		out := e.filter(buf[:n], p)
		if out > 0 || err != nil {
			return out, err
		}
	}
	return 0, io.EOF
}

// filter copies in to p, interpreting the escape; it returns the bytes
// written. p is as large as in; an escape held back from an earlier read
// may add one byte, which is why held escapes only pass with the next byte.
func (e *escapeReader) filter(in, p []byte) int {
	out := 0
	emit := func(b byte) {
		if out < len(p) {
			p[out] = b
			out++
		}
	}
	for _, b := range in {
		switch {
		case e.pending:
			e.pending = false
			if b == '.' {
				e.closed = true
				e.disconnect()
				return out
			}
			if b != e.esc {
				emit(e.esc)
			}
			emit(b)
		case e.lineStart && b == e.esc:
			e.pending = true
			continue
		default:
			emit(b)
		}
		e.lineStart = b == '\r' || b == '\n'
	}
	return out
}
