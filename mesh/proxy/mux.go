package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The multiplexer carries many application connections (streams) over
// one mTLS connection between two roam proxies. It is built for the cost
// of a message, which is what a proxy spends its CPU on:
//
//   - a stream's Write queues its frames and flushes them from the
//     calling goroutine (the copier): no send loop to hand the message
//     to. When another goroutine is writing already, it returns at once
//     and that one writes the frames next with its own (flush
//     combining), so the streams of a busy session share TLS records and
//     write(2) calls; a flusher yields once first while that pays, so
//     the copiers woken by the same poll queue into its write;
//   - the TLS connection sits on a batchConn: one flush is one write(2),
//     however many TLS records it makes (crypto/tls writes each record
//     on its own), and the reader takes many records per read(2);
//   - the session's one reader writes a data frame straight into the
//     destination socket when the stream has one (drainTo) with a single
//     non-blocking write, so the goroutine that read the frame is the only
//     one woken; what the socket does not take is buffered and written by
//     the stream's drainer goroutine, which also keeps the order;
//   - header and body of a frame are written together: a small frame is
//     one TLS record and one write(2).
//
// Per-stream flow control keeps one slow application from stalling the
// others: a sender may have at most muxWindow unconsumed bytes in flight
// per stream, so the reader never blocks on a stream; it only buffers.
// Session flow control bounds what all streams together may make the
// receiver buffer: a sender may have at most muxSessionWindow unconsumed
// bytes in flight across the session's streams, whatever their number, so
// a peer that opens thousands of streams to an application that does not
// read makes its proxy hold at most that much, not muxWindow per stream.
// The reader never writes to the connection either (window updates,
// resets and go-aways go through the session's control goroutine), so two
// proxies whose writers both wait on a full TCP buffer still read. What
// the reader queues for the control goroutine is coalesced and bounded
// (muxMaxControl): a peer that keeps asking but does not read is cut off.
//
// Frame: type (1 byte), stream ID (4), argument (4), big endian, then for
// data frames argument bytes of payload. Client streams have odd IDs.
//
//	open    a new stream
//	data    argument = payload length (at most muxMaxPayload)
//	credit  argument = bytes the receiver consumed: the sender may send as
//	        many more on the stream, or, for stream 0, on the session as a
//	        whole (roam-mux/3)
//	fin     the sender sends no more on this stream (half-close)
//	reset   the stream is aborted both ways
//	goaway  the sender accepts no new streams: open them on another
//	        connection (stream 0)
//	ping    are you there? (stream 0): answered by a pong with the same
//	        argument
//	pong    the answer to a ping
//
// A session that has received no frame for a ping interval sends a ping;
// one that then receives nothing for another interval closes (keepalive).
// The kernel's TCP keepalive and TCP_USER_TIMEOUT (keepalive.go) notice a
// host that vanished, but not a proxy that stopped (SIGSTOP, a wedged
// process): its kernel keeps ACKing, so TCP sees a healthy connection while
// no frame comes back, and the streams on it would hang for good.
type muxFrame uint8

const (
	muxOpen muxFrame = iota + 1
	muxData
	muxCredit
	muxFin
	muxReset
	muxGoAway
	muxPing
	muxPong
)

const (
	muxHeaderLen = 9
	// muxMaxPayload bounds a data frame. A request or an answer of a few
	// hundred bytes is one frame, one TLS record and one write(2); bulk
	// goes in frames of up to 64 KiB (four TLS records, written by one
	// call), so that the receiving proxy writes 64 KiB to the socket per
	// system call rather than a record's 16 KiB.
	muxMaxPayload = 64<<10 - muxHeaderLen
	// muxWindow is what a stream may have in flight unconsumed: what a
	// stalled application can make its proxy buffer, and what bounds one
	// stream's throughput to a window per round trip (1 MiB, as the yamux
	// sessions before had at most; with 256 KiB bulk slowed when the
	// machine was loaded and a credit took milliseconds to come back).
	// The receiver returns credit once half of it was consumed, so a
	// request/response stream sends a credit frame every 512 KiB.
	muxWindow = 1 << 20
	// muxSessionWindow is what all streams of a session together may have
	// in flight unconsumed: the most a peer can make its proxy buffer over
	// one session, however many streams it opens (muxWindow times
	// muxMaxStreams would be 8 GiB). 16 windows, so that up to 16 streams
	// go at full speed at once and one stalled application's window leaves
	// 15 to the others. A stream's window being smaller than the session's,
	// a session is stalled only by 16 (15.5, with the credit not yet
	// returned) windows' worth of applications that do not read, and only
	// for new bytes on that session: sessions are per pair of proxies and
	// destination, so other callers never wait on them.
	muxSessionWindow = 16 * muxWindow
	// muxSessionCreditAt is how many consumed bytes the receiver gathers
	// before it returns session credit (one frame per half stream window,
	// coalesced with the stream credits).
	muxSessionCreditAt = muxWindow / 2
	// muxBufKeep is the most buffer capacity a stream keeps once the
	// bytes it held were consumed (for the next burst, which a socket that
	// was full for a moment makes common). The session window counts
	// buffered bytes, not the arrays that held them: a larger buffer is
	// released once drained, so what a session holds follows its window
	// (each of 400 streams kept the 1 MiB array of the window it was sent
	// and the application read: 400 MiB held with nothing buffered).
	muxBufKeep = 4 << 10
	// muxMaxStreams bounds the open streams of one session.
	muxMaxStreams = 8192
	// muxAcceptBacklog bounds the streams opened and not yet accepted;
	// more are reset.
	muxAcceptBacklog = 256
	// muxPingEvery is how long a session may receive nothing before it
	// pings, and how long the ping may go unanswered before the session is
	// closed: a remote that stopped is noticed within two to three
	// intervals (10-15 s), long enough that a loaded machine's scheduling
	// delays never close a healthy session, short enough that the pool
	// stops handing out a dead session's streams well before an
	// application's own timeouts (often 30 s). One 9-byte frame per
	// interval on an idle session is its cost.
	muxPingEvery = 5 * time.Second
	// muxMaxControl bounds the control frames a session owes its peer
	// between two writes of the control goroutine. Each is a request of
	// the peer's (a pong for each ping, a reset for each refused open, a
	// credit per half window it sent): a peer that keeps asking while it
	// does not read our answers would otherwise make us hold them without
	// end, so past this many the session is closed. Pongs and credits are
	// coalesced (one pending pong, one pending credit per stream), so what
	// is held is at most this many small entries. A well-behaved peer
	// reads, and asks for fewer: at most muxMaxStreams opens outstanding
	// (each refused one holds a stream in its session until our reset
	// comes), two credits per open stream, one ping per interval.
	muxMaxControl = 4 * muxMaxStreams
	// muxMaxPending is how many bytes of frames may wait in a session's
	// send queue for the goroutine that is writing; past it writers wait
	// for room.
	muxMaxPending = 256 << 10
	// muxFlushRounds is how many writes a copier that became the flusher
	// does for the others before it hands the duty to the control
	// goroutine.
	muxFlushRounds = 8
	// muxYieldProbe: while yields before a flush do not pay, one flush in
	// this many yields all the same, to notice when they start to.
	muxYieldProbe = 16
)

var (
	errMuxClosed = errors.New("mux session closed")
	errMuxReset  = errors.New("mux stream reset")
	errMuxGoAway = errors.New("mux session takes no new streams")
)

// muxSession is one side of a multiplexed connection.
type muxSession struct {
	conn net.Conn
	// batch is the socket under conn when it is a TLS connection over a
	// batchConn: each flush is then one write(2), whatever the number of
	// TLS records.
	batch *batchConn

	// wmu guards the send queue: pend holds frames queued and not yet
	// written; flushing says a goroutine is writing (it writes what is
	// queued meanwhile too); handoff, that it passed that duty to the
	// control goroutine; room is closed when a flush made room for
	// writers waiting on a full queue; werr is the first write error.
	wmu      sync.Mutex
	pend     []byte
	spare    []byte
	flushing bool
	handoff  bool
	room     chan struct{}
	werr     error
	// frames counts the frames queued and flushes the flushes begun;
	// yieldPays says the last yield before a flush let another frame in
	// (see yield).
	frames, flushes uint64
	yieldPays       bool

	mu      sync.Mutex
	streams map[uint32]*muxStream
	nextID  uint32
	goAway  bool // the remote takes no new streams
	closed  bool
	ctlWake chan struct{}
	ctl     ctlQueue // frames the control goroutine is to send, guarded by mu
	// ctlQueued is set while ctl holds frames: a flusher takes them
	// along, and skips mu when there are none.
	ctlQueued atomic.Bool

	accepts chan *muxStream
	done    chan struct{}
	// recvd counts the frames read, for keepalive to see the remote is
	// alive.
	recvd atomic.Uint64

	// smu guards the session's send window: sendWin is what our streams
	// may still send all together; sendWake is closed (and replaced) when
	// the remote returns credit, waking every writer waiting for it.
	smu      sync.Mutex
	sendWin  int64
	sendWake chan struct{}

	// rmu guards the receive side's accounting: buffered is what was
	// received and not consumed yet (buffered in streams, or being written
	// by a drainer), peak its highest value (for tests), consumed what was
	// consumed since session credit was last returned.
	rmu                      sync.Mutex
	buffered, peak, consumed int
}

// ctlQueue is what the control goroutine is to send, coalesced so that
// what a peer can make the session hold is bounded by muxMaxControl.
type ctlQueue struct {
	ping, pong, goAway bool
	pongArg            uint32            // the latest ping's argument: one pong answers them all
	credits            map[uint32]uint32 // stream ID: bytes consumed, summed
	resets             []uint32          // stream IDs
	// asked counts the frames asked for since the control goroutine last
	// took the queue, coalesced or not; peak is its highest value, for
	// tests.
	asked, peak int
}

// add queues one frame; false when the peer asked for more than
// muxMaxControl since the last take.
func (q *ctlQueue) add(t muxFrame, id, arg uint32) bool {
	if q.asked >= muxMaxControl {
		return false
	}
	q.asked++
	q.peak = max(q.peak, q.asked)
	switch t {
	case muxPing:
		q.ping = true
	case muxPong:
		q.pong, q.pongArg = true, arg
	case muxGoAway:
		q.goAway = true
	case muxCredit:
		if q.credits == nil {
			q.credits = map[uint32]uint32{}
		}
		q.credits[id] += arg
	case muxReset:
		delete(q.credits, id) // the stream is gone: its credit means nothing
		q.resets = append(q.resets, id)
	}
	return true
}

// take appends the queued frames to b and empties the queue.
func (q *ctlQueue) take(b []byte) []byte {
	frame := func(t muxFrame, id, arg uint32) {
		b = append(b, byte(t))
		b = binary.BigEndian.AppendUint32(b, id)
		b = binary.BigEndian.AppendUint32(b, arg)
	}
	if q.ping {
		frame(muxPing, 0, 0)
	}
	if q.pong {
		frame(muxPong, 0, q.pongArg)
	}
	for id, c := range q.credits {
		frame(muxCredit, id, c)
		delete(q.credits, id)
	}
	for _, id := range q.resets {
		frame(muxReset, id, 0)
	}
	if q.goAway {
		frame(muxGoAway, 0, 0)
	}
	q.ping, q.pong, q.goAway, q.resets, q.asked = false, false, false, q.resets[:0], 0
	return b
}

// newMuxSession starts a session over c; client decides the parity of the
// stream IDs it opens. pingEvery is the keepalive interval (0:
// muxPingEvery).
func newMuxSession(c net.Conn, client bool, pingEvery time.Duration) *muxSession {
	s := &muxSession{conn: c, streams: map[uint32]*muxStream{},
		nextID: 2, ctlWake: make(chan struct{}, 1), accepts: make(chan *muxStream, muxAcceptBacklog), done: make(chan struct{}),
		sendWin: muxSessionWindow, sendWake: make(chan struct{})}
	if client {
		s.nextID = 1
	}
	if w, ok := c.(interface{ NetConn() net.Conn }); ok {
		if bc, ok := w.NetConn().(*batchConn); ok {
			s.batch = bc
			bc.enableReadBuffer() // before readLoop starts: it alone reads from here on
		}
	}
	if pingEvery <= 0 {
		pingEvery = muxPingEvery
	}
	go s.readLoop()
	go s.ctlLoop()
	go s.keepalive(pingEvery)
	return s
}

// keepalive closes the session when the remote sent nothing for an
// interval after a ping went unanswered: a frozen or vanished peer. The
// ping goes through the control goroutine; if that is stuck on a full TCP
// buffer the remote is not reading either, and the close unblocks it.
func (s *muxSession) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last, pinged := s.recvd.Load(), false
	for {
		select {
		case <-t.C:
		case <-s.done:
			return
		}
		switch n := s.recvd.Load(); {
		case n != last:
			last, pinged = n, false
		case pinged:
			s.close()
			return
		default:
			s.control(muxPing, 0, 0)
			pinged = true
		}
	}
}

// Open starts a stream.
func (s *muxSession) Open() (*muxStream, error) {
	st, err := s.openQueued()
	if err != nil {
		return nil, err
	}
	if err := s.flush(); err != nil {
		s.remove(st.id)
		return nil, err
	}
	return st, nil
}

// openQueued starts a stream whose open frame is queued, not flushed: it
// leaves with the stream's first data (copyToStream flushes before it
// waits for any), in one write instead of two.
func (s *muxSession) openQueued() (*muxStream, error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, errMuxClosed
	case s.goAway:
		s.mu.Unlock()
		return nil, errMuxGoAway
	case len(s.streams) >= muxMaxStreams:
		s.mu.Unlock()
		return nil, errors.New("mux session: too many streams")
	}
	st := newMuxStream(s, s.nextID)
	s.nextID += 2
	s.streams[st.id] = st
	s.mu.Unlock()
	if err := s.queue(muxOpen, st.id, 0, nil); err != nil {
		s.remove(st.id)
		return nil, err
	}
	return st, nil
}

// Accept returns the next stream the remote opened.
func (s *muxSession) Accept() (*muxStream, error) {
	select {
	case st := <-s.accepts:
		return st, nil
	case <-s.done:
		return nil, errMuxClosed
	}
}

// GoAway tells the remote to open no new streams here; open ones go on.
func (s *muxSession) GoAway() { s.control(muxGoAway, 0, 0) }

// IsClosed reports whether the session can take no new streams.
func (s *muxSession) IsClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.goAway
}

// Close ends the session and every stream on it.
func (s *muxSession) Close() error {
	s.close()
	return nil
}

func (s *muxSession) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	streams := s.streams
	s.streams = map[uint32]*muxStream{}
	s.mu.Unlock()
	s.conn.Close()
	for _, st := range streams {
		st.wake()
	}
}

// write queues one frame with payload p (at most muxMaxPayload) and
// flushes.
func (s *muxSession) write(t muxFrame, id, arg uint32, p []byte) error {
	if err := s.queue(t, id, arg, p); err != nil {
		return err
	}
	return s.flush()
}

// queue appends one frame to the send queue. While the queue holds
// muxMaxPending bytes or more, it waits for the flusher to make room (or
// flushes itself when nobody does): a peer that does not read holds the
// writers, not the proxy's memory.
func (s *muxSession) queue(t muxFrame, id, arg uint32, p []byte) error {
	s.wmu.Lock()
	for len(s.pend) >= muxMaxPending && s.werr == nil {
		if !s.flushing {
			s.flushing = true
			s.flushLocked(muxFlushRounds)
			continue
		}
		if s.room == nil {
			s.room = make(chan struct{})
		}
		room := s.room
		s.wmu.Unlock()
		select {
		case <-room:
		case <-s.done:
			return errMuxClosed
		}
		s.wmu.Lock()
	}
	if err := s.werr; err != nil {
		s.wmu.Unlock()
		return err
	}
	b := append(s.pend, byte(t))
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, arg)
	s.pend = append(b, p...)
	s.frames++
	s.wmu.Unlock()
	return nil
}

// flush writes the queued frames, unless another goroutine is writing:
// that one writes them next, with its own (flush combining: concurrent
// streams share TLS records and write(2) calls, and no goroutine is woken
// to do it).
func (s *muxSession) flush() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.flushing {
		return s.werr
	}
	s.flushing = true
	s.yield()
	return s.flushLocked(muxFlushRounds)
}

// yield lets the goroutines that are runnable now (copiers woken by the
// same poll) queue their frames before the flush: goroutines on one P run
// one after the other, so without it two writes would seldom overlap and
// little would combine. A yield can wake an idle thread (a context
// switch), so it is made only while yields pay (the last one let another
// frame in) and, to notice when they start paying, on every
// muxYieldProbe-th flush. Called with wmu held and flushing set.
func (s *muxSession) yield() {
	s.flushes++
	if !s.yieldPays && s.flushes%muxYieldProbe != 0 {
		return
	}
	before := s.frames
	s.wmu.Unlock()
	runtime.Gosched()
	s.wmu.Lock()
	s.yieldPays = s.frames != before
}

// flushLocked writes what is queued, control frames included, until the
// queue stays empty, as the session's one flusher (flushing set by the
// caller). After rounds writes (0: no limit) with more still queued, it
// hands the duty to the control goroutine, so that a copier is not kept
// from its own connection by the others' traffic. Called and returns with
// wmu held; the lock order is wmu, then mu.
func (s *muxSession) flushLocked(rounds int) error {
	for round := 0; ; round++ {
		if s.ctlQueued.Load() {
			s.mu.Lock()
			s.pend = s.ctl.take(s.pend)
			s.ctlQueued.Store(false)
			s.mu.Unlock()
		}
		if len(s.pend) == 0 || s.werr != nil {
			s.flushing = false
			return s.werr
		}
		if rounds > 0 && round == rounds {
			s.handoff = true // flushing stays set: the control goroutine goes on
			signal(s.ctlWake)
			return nil
		}
		b := s.pend
		s.pend, s.spare = s.spare[:0], nil
		s.wmu.Unlock()
		err := s.send(b)
		s.wmu.Lock()
		if cap(b) <= keepBufSize {
			s.spare = b[:0]
		}
		if err != nil {
			s.werr = err
			go s.close()
		}
		if s.room != nil {
			close(s.room)
			s.room = nil
		}
	}
}

// send writes b to the connection in one write(2) where the socket is
// under a batchConn.
func (s *muxSession) send(b []byte) error {
	if s.batch == nil {
		_, err := s.conn.Write(b)
		return err
	}
	s.batch.begin()
	_, err := s.conn.Write(b)
	if ferr := s.batch.flush(); err == nil {
		err = ferr
	}
	return err
}

// control queues a frame for the control goroutine: the reader must not
// wait on the connection's writes (see the package comment above). A
// peer that asks for more than muxMaxControl frames while the session's
// writes are stuck is not reading: its session is closed.
func (s *muxSession) control(t muxFrame, id, arg uint32) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ok := s.ctl.add(t, id, arg)
	s.ctlQueued.Store(true)
	s.mu.Unlock()
	if !ok {
		s.close()
		return
	}
	signal(s.ctlWake)
}

// ctlLoop writes the queued control frames when no other goroutine is
// writing (a flusher takes them along), and goes on flushing for a
// copier that handed the duty over.
func (s *muxSession) ctlLoop() {
	for {
		select {
		case <-s.ctlWake:
		case <-s.done:
			return
		}
		s.wmu.Lock()
		switch {
		case s.handoff:
			s.handoff = false // the duty is ours; flushing stays set
		case s.flushing:
			s.wmu.Unlock() // the flusher takes the control frames along
			continue
		default:
			s.flushing = true
		}
		err := s.flushLocked(0)
		s.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// controlPeak is the most control frames the session was asked for
// between two writes of its control goroutine.
func (s *muxSession) controlPeak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctl.peak
}

// readLoop reads frames until the connection ends, then closes the
// session.
func (s *muxSession) readLoop() {
	defer s.close()
	// Large enough to peek at the largest frame: its payload is delivered
	// from the reader's buffer, not copied out first.
	br := bufio.NewReaderSize(s.conn, muxHeaderLen+muxMaxPayload)
	var hdr [muxHeaderLen]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		s.recvd.Add(1)
		t, id, arg := muxFrame(hdr[0]), binary.BigEndian.Uint32(hdr[1:5]), binary.BigEndian.Uint32(hdr[5:9])
		if t == muxData {
			if arg > muxMaxPayload || !s.received(int(arg)) {
				return // a peer that breaks the framing or the window is cut off
			}
			p, err := br.Peek(int(arg))
			if err != nil {
				return
			}
			if st := s.stream(id); st != nil {
				st.deliver(p)
			} else {
				s.consume(int(arg)) // dropped: the stream is gone
			}
			br.Discard(int(arg))
			continue
		}
		if !s.handle(t, id, arg) {
			return
		}
	}
}

// handle acts on a frame without payload; false ends the session.
func (s *muxSession) handle(t muxFrame, id, arg uint32) bool {
	switch t {
	case muxOpen:
		s.accept(id)
	case muxCredit:
		if id == 0 {
			s.sessionCredit(arg)
		} else if st := s.stream(id); st != nil {
			st.credit(arg)
		}
	case muxFin:
		if st := s.stream(id); st != nil {
			st.remoteFin()
		}
	case muxReset:
		if st := s.stream(id); st != nil {
			st.remoteReset()
		}
	case muxGoAway:
		s.mu.Lock()
		s.goAway = true
		s.mu.Unlock()
	case muxPing:
		s.control(muxPong, 0, arg)
	case muxPong:
		// Its arrival is the point: counted in recvd.
	default:
		return false
	}
	return true
}

// accept registers a stream the remote opened, or resets it when the
// session is full or nobody accepts fast enough.
func (s *muxSession) accept(id uint32) {
	s.mu.Lock()
	if s.closed || s.streams[id] != nil || len(s.streams) >= muxMaxStreams {
		s.mu.Unlock()
		s.control(muxReset, id, 0)
		return
	}
	st := newMuxStream(s, id)
	s.streams[id] = st
	s.mu.Unlock()
	select {
	case s.accepts <- st:
	default:
		s.remove(id)
		s.control(muxReset, id, 0)
	}
}

// received counts n bytes of data read off the connection; false when the
// peer sent more than the session window allows (it broke the protocol).
func (s *muxSession) received(n int) bool {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.buffered += n
	s.peak = max(s.peak, s.buffered)
	return s.buffered <= muxSessionWindow
}

// consume counts n received bytes as gone (written to the application or
// dropped with their stream) and returns session credit for them once
// muxSessionCreditAt have gathered.
func (s *muxSession) consume(n int) {
	if n <= 0 {
		return
	}
	s.rmu.Lock()
	s.buffered -= n
	s.consumed += n
	c := 0
	if s.consumed >= muxSessionCreditAt {
		c, s.consumed = s.consumed, 0
	}
	s.rmu.Unlock()
	if c > 0 {
		s.control(muxCredit, 0, uint32(c))
	}
}

// bufferedNow and bufferedPeak are what the session holds of the
// remote's data now and at most so far (for tests).
func (s *muxSession) bufferedNow() int {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.buffered
}

func (s *muxSession) bufferedPeak() int {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.peak
}

// sessionCredit adds the remote's session credit and wakes the writers
// waiting for it.
func (s *muxSession) sessionCredit(n uint32) {
	s.smu.Lock()
	s.sendWin += int64(n)
	close(s.sendWake)
	s.sendWake = make(chan struct{})
	s.smu.Unlock()
}

// takeCredit takes up to want bytes of session credit for st, waiting
// while there is none; it fails when st or the session ends meanwhile.
func (s *muxSession) takeCredit(st *muxStream, want int, beforeWait func() error) (int, error) {
	for {
		s.smu.Lock()
		if s.sendWin > 0 {
			n := min(int64(want), s.sendWin)
			s.sendWin -= n
			s.smu.Unlock()
			return int(n), nil
		}
		wake := s.sendWake
		s.smu.Unlock()
		if err := beforeWait(); err != nil {
			return 0, err
		}
		select {
		case <-wake:
		case <-st.wwake: // a reset; a stream credit is seen by Write's loop
		case <-s.done:
		}
		st.mu.Lock()
		err := st.closedLocked()
		st.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}

// sendWindow is the session credit left (for tests).
func (s *muxSession) sendWindow() int64 {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.sendWin
}

func (s *muxSession) stream(id uint32) *muxStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

func (s *muxSession) remove(id uint32) {
	s.mu.Lock()
	delete(s.streams, id)
	s.mu.Unlock()
}

// muxStream is one application connection over a session: a net.Conn
// that half-closes (CloseWrite) and can deliver straight into a socket
// (drainTo).
type muxStream struct {
	s  *muxSession
	id uint32

	mu       sync.Mutex
	rwake    chan struct{} // data, fin or reset for the reader/drainer
	wwake    chan struct{} // credit or reset for the writer
	buf      []byte        // received, not yet consumed
	consumed uint32        // consumed since the last window frame
	sendWin  uint32
	finRecv  bool
	finSent  bool
	reset    bool
	// sink is the socket drainTo delivers to; draining is set while the
	// drainer writes buffered bytes to it (the reader then buffers too,
	// so bytes keep their order). sunk counts the bytes it took.
	sink     syscall.RawConn
	draining bool
	inflight int // bytes the drainer is writing
	sunk     int64
	// active is set when data goes either way and cleared by whoever
	// watches for idle streams (wasActive): the inbound listener closes a
	// stream that carried nothing for long.
	active atomic.Bool
}

// touch marks the stream active: a load first, so that a busy stream
// writes the flag once per check of wasActive, not once per frame.
func (st *muxStream) touch() {
	if !st.active.Load() {
		st.active.Store(true)
	}
}

// wasActive reports whether data went either way since the last call.
func (st *muxStream) wasActive() bool { return st.active.Swap(false) }

func newMuxStream(s *muxSession, id uint32) *muxStream {
	return &muxStream{s: s, id: id, rwake: make(chan struct{}, 1), wwake: make(chan struct{}, 1), sendWin: muxWindow}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (st *muxStream) wake() {
	signal(st.rwake)
	signal(st.wwake)
}

// closedLocked is why the stream can neither read nor write any more
// (nil while it can). Called with st.mu held.
func (st *muxStream) closedLocked() error {
	if st.reset {
		return errMuxReset
	}
	select {
	case <-st.s.done:
		return errMuxClosed
	default:
		return nil
	}
}

// deliver takes a data frame's payload from the session reader: written
// straight to the sink when nothing is buffered before it, buffered
// otherwise (the reader never blocks).
func (st *muxStream) deliver(p []byte) {
	st.touch()
	st.mu.Lock()
	if st.reset || st.finRecv {
		st.mu.Unlock()
		st.s.consume(len(p)) // dropped
		return
	}
	var direct int
	if st.sink != nil && len(st.buf) == 0 && !st.draining {
		direct = writeNonBlocking(st.sink, p)
		st.sunk += int64(direct)
		p = p[direct:]
	}
	if st.inflight+len(st.buf)+len(p) > muxWindow {
		// More than the window allows: the sender broke the protocol.
		st.reset = true
		st.mu.Unlock()
		st.s.consume(direct + len(p)) // written or dropped
		st.s.remove(st.id)
		st.s.control(muxReset, st.id, 0)
		st.wake()
		return
	}
	if len(p) > 0 {
		st.buf = append(st.buf, p...)
		signal(st.rwake)
	}
	credit := st.consumeLocked(direct)
	st.mu.Unlock()
	st.s.consume(direct)
	st.sendCredit(credit)
}

// writeNonBlocking makes one write attempt on a non-blocking socket and
// returns what it took (0 when it would block or failed: the drainer's
// blocking write then meets the error).
func writeNonBlocking(rc syscall.RawConn, p []byte) int {
	var n int
	rc.Write(func(fd uintptr) bool {
		m, err := syscall.Write(int(fd), p)
		if err == nil && m > 0 {
			n = m
		}
		return true // one attempt: never wait for the socket here
	})
	return n
}

// consumeLocked counts n consumed bytes and returns the credit to send
// back (0 until half a window was consumed).
func (st *muxStream) consumeLocked(n int) uint32 {
	st.consumed += uint32(n)
	if st.consumed < muxWindow/2 || st.finRecv || st.reset {
		return 0
	}
	c := st.consumed
	st.consumed = 0
	return c
}

func (st *muxStream) sendCredit(c uint32) {
	if c > 0 {
		st.s.control(muxCredit, st.id, c)
	}
}

func (st *muxStream) credit(n uint32) {
	st.mu.Lock()
	st.sendWin += n
	st.mu.Unlock()
	signal(st.wwake)
}

func (st *muxStream) remoteFin() {
	st.mu.Lock()
	st.finRecv = true
	done := st.finSent
	st.mu.Unlock()
	if done {
		st.s.remove(st.id)
	}
	signal(st.rwake)
}

func (st *muxStream) remoteReset() {
	st.mu.Lock()
	st.reset = true
	st.mu.Unlock()
	st.s.remove(st.id)
	st.wake()
}

// Read returns buffered bytes, io.EOF after the remote's fin, or the
// stream's end.
func (st *muxStream) Read(p []byte) (int, error) {
	for {
		st.mu.Lock()
		if len(st.buf) > 0 {
			n := copy(p, st.buf)
			st.dropBuffered(n)
			credit := st.consumeLocked(n)
			st.mu.Unlock()
			st.s.consume(n)
			st.sendCredit(credit)
			return n, nil
		}
		if st.finRecv && !st.reset {
			st.mu.Unlock()
			return 0, io.EOF
		}
		if err := st.closedLocked(); err != nil {
			st.mu.Unlock()
			return 0, err
		}
		st.mu.Unlock()
		select {
		case <-st.rwake:
		case <-st.s.done:
		}
	}
}

// dropBuffered removes the first n buffered bytes (consumed). A buffer
// larger than muxBufKeep is released once empty, and its rest moved to a
// buffer of its size once it is mostly empty, so that a stream holds at
// most a few times what the session counts as buffered (an application
// that stops reading a few bytes short of a window must not make its
// stream keep the window's array). Called with st.mu held.
func (st *muxStream) dropBuffered(n int) {
	rest := len(st.buf) - n
	switch {
	case cap(st.buf) > muxBufKeep && rest == 0:
		st.buf = nil
	case cap(st.buf) > muxBufKeep && rest < cap(st.buf)/4:
		st.buf = append(make([]byte, 0, rest), st.buf[n:]...)
	default:
		st.buf = st.buf[:copy(st.buf, st.buf[n:])]
	}
}

// drainTo delivers the stream's bytes into dst until the remote's fin
// (nil) or the stream's end, and returns how many it delivered. The
// session reader writes into dst directly while nothing is buffered;
// this goroutine writes what it buffered, with blocking writes.
func (st *muxStream) drainTo(dst *net.TCPConn) (int64, error) {
	rc, err := dst.SyscallConn()
	if err != nil {
		n, err := io.Copy(dst, st)
		return n, err
	}
	st.mu.Lock()
	st.sink = rc
	defer func() {
		st.mu.Lock()
		st.sink = nil
		st.mu.Unlock()
	}()
	for {
		if len(st.buf) > 0 {
			chunk := st.buf
			st.buf, st.draining, st.inflight = nil, true, len(chunk)
			st.mu.Unlock()
			n, werr := dst.Write(chunk)
			st.mu.Lock()
			st.draining, st.inflight = false, 0
			st.sunk += int64(n)
			if st.buf == nil && cap(chunk) <= muxBufKeep {
				st.buf = chunk[:0] // keep a small buffer for the next burst
			}
			credit := st.consumeLocked(n)
			st.mu.Unlock()
			st.s.consume(len(chunk)) // written, or dropped with the stream
			st.sendCredit(credit)
			if werr != nil {
				return st.total(), werr
			}
			st.mu.Lock()
			continue
		}
		if st.finRecv && !st.reset {
			st.mu.Unlock()
			return st.total(), nil
		}
		if err := st.closedLocked(); err != nil {
			st.mu.Unlock()
			return st.total(), err
		}
		st.mu.Unlock()
		select {
		case <-st.rwake:
		case <-st.s.done:
		}
		st.mu.Lock()
	}
}

func (st *muxStream) total() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sunk
}

// Write sends p as data frames within the send windows. Its frames are
// queued together and flushed once (one TLS write for a copier's whole
// read); what is queued is flushed before waiting for credit.
func (st *muxStream) Write(p []byte) (int, error) {
	n, err := st.writeQueued(p)
	if err != nil {
		return n, err
	}
	return n, st.s.flush()
}

// writeQueued queues p as data frames within the send windows and leaves
// them for a later flush, except what must be flushed before it waits for
// credit or room.
func (st *muxStream) writeQueued(p []byte) (int, error) {
	st.touch()
	var sent int
	queued := false
	flush := func() error {
		if !queued {
			return nil
		}
		queued = false
		return st.s.flush()
	}
	for len(p) > 0 {
		n, err := st.reserve(len(p), flush)
		if err != nil {
			return sent, err
		}
		if err := st.s.queue(muxData, st.id, uint32(n), p[:n]); err != nil {
			return sent, err
		}
		queued = true
		sent += n
		p = p[n:]
	}
	return sent, nil
}

// reserve takes up to want bytes (and at most a frame's) of the stream's
// and the session's windows, calling beforeWait before it waits for
// credit.
func (st *muxStream) reserve(want int, beforeWait func() error) (int, error) {
	st.mu.Lock()
	for st.sendWin == 0 && st.closedLocked() == nil && !st.finSent {
		st.mu.Unlock()
		if err := beforeWait(); err != nil {
			return 0, err
		}
		select {
		case <-st.wwake:
		case <-st.s.done:
		}
		st.mu.Lock()
	}
	if err := st.closedLocked(); err != nil {
		st.mu.Unlock()
		return 0, err
	}
	if st.finSent {
		st.mu.Unlock()
		return 0, errors.New("mux stream: write after close")
	}
	n := min(want, int(st.sendWin), muxMaxPayload)
	st.sendWin -= uint32(n)
	st.mu.Unlock()
	got, err := st.s.takeCredit(st, n, beforeWait)
	if err != nil {
		return 0, err
	}
	if got < n {
		st.credit(uint32(n - got)) // the rest of the stream's window stays ours
	}
	return got, nil
}

// CloseWrite sends fin: the remote reads EOF, this side still reads.
func (st *muxStream) CloseWrite() error {
	st.mu.Lock()
	if st.finSent || st.reset {
		st.mu.Unlock()
		return nil
	}
	st.finSent = true
	done := st.finRecv
	st.mu.Unlock()
	err := st.s.write(muxFin, st.id, 0, nil)
	if done {
		st.s.remove(st.id)
	}
	return err
}

// Close ends the stream: quietly once both sides sent fin, with a reset
// otherwise (the remote's reads and writes fail).
func (st *muxStream) Close() error {
	st.mu.Lock()
	// What nobody will read any more goes back to the session's window.
	dropped := len(st.buf)
	st.buf = nil
	if st.reset || (st.finSent && st.finRecv) {
		st.mu.Unlock()
		st.s.consume(dropped)
		st.s.remove(st.id)
		return nil
	}
	st.reset = true
	st.mu.Unlock()
	st.s.consume(dropped)
	st.s.remove(st.id)
	st.wake()
	select {
	case <-st.s.done:
		return nil
	default:
	}
	return st.s.write(muxReset, st.id, 0, nil)
}

func (st *muxStream) LocalAddr() net.Addr  { return st.s.conn.LocalAddr() }
func (st *muxStream) RemoteAddr() net.Addr { return st.s.conn.RemoteAddr() }

// errNoDeadline: the proxy bounds streams by their session and their
// application connections, never by deadlines on a stream.
var errNoDeadline = errors.New("mux stream: deadlines are not supported")

func (st *muxStream) SetDeadline(time.Time) error      { return errNoDeadline }
func (st *muxStream) SetReadDeadline(time.Time) error  { return errNoDeadline }
func (st *muxStream) SetWriteDeadline(time.Time) error { return errNoDeadline }
