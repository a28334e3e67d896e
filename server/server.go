package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// Server is one roam server: Raft member, RPC endpoint and, while it leads,
// the home of the eval broker, scheduling workers and plan applier.
type Server struct {
	cfg       Config
	logger    *slog.Logger
	id        string
	advertise string
	handle    wireHandle

	state          *state.StateStore
	fsm            *fsm
	events         *eventBuffer
	raft           *raft.Raft
	raftTransport  *raft.NetworkTransport
	leaderNotifyCh chan bool
	closers        []func() error

	mux       *msgrpc.Mux
	rpcServer *msgrpc.Server
	pool      *msgrpc.Pool
	rpcConns  connSet

	broker       *EvalBroker
	blocked      *BlockedEvals
	planQueue    *PlanQueue
	heartbeats   *heartbeats
	allocUpdates *allocUpdateBatcher
	keyring      *keyring
	connectCA    *connectCA
	leader       leaderState
	admission    *admission
	members      *membership
	autopilot    *autopilotState

	// errCh reports a failure the server cannot run on (a corrupt log
	// entry); the agent stops on it.
	errCh chan error

	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	shutdownOnce sync.Once
	shutdownErr  error
}

// NewServer starts a server: it opens (or creates) the Raft state under
// cfg.DataDir, replays it into the state store, listens for RPC and joins or
// bootstraps the cluster. Use WaitForLeader before relying on writes.
func NewServer(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	s := &Server{cfg: cfg, logger: cfg.Logger.With("component", "server"), handle: newWireHandle(), admission: newAdmission(cfg), errCh: make(chan error, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.setup(); err != nil {
		s.Shutdown()
		return nil, err
	}
	s.logger.Info("server started", "id", s.id, "rpc_addr", s.advertise, "bootstrap_expect", cfg.BootstrapExpect)
	return s, nil
}

// Err reports a failure the server cannot run on; the agent stops on it.
func (s *Server) Err() <-chan error { return s.errCh }

// stateCorrupt reports a log entry the FSM could not apply: this server's
// state no longer matches the log, so it must stop.
func (s *Server) stateCorrupt(err error) {
	if s.cfg.DataDir != "" {
		err = fmt.Errorf("%w\n%s", err, appliedRemedy(s.cfg.DataDir))
	}
	select {
	case s.errCh <- err:
	default: // already reported; the agent is stopping
	}
}

// setup builds every part of the server in dependency order.
func (s *Server) setup() error {
	st, err := state.NewStateStore()
	if err != nil {
		return err
	}
	s.state = st
	s.fsm = newFSM(st, s.cfg.Logger)
	s.events = newEventBuffer(s.cfg.EventBufferSize)
	s.fsm.events = s.events
	s.fsm.corrupt = s.stateCorrupt
	if err := s.listen(); err != nil {
		return err
	}
	s.pool = msgrpc.NewPool(s.cfg.Logger, msgrpc.WithTLS(s.dialTLS()))
	s.broker = NewEvalBroker(s.brokerConfig(), s.cfg.Logger)
	s.blocked = NewBlockedEvals(s.broker, s.cfg.Logger)
	s.planQueue = NewPlanQueue()
	s.heartbeats = newHeartbeats(s)
	s.allocUpdates = newAllocUpdateBatcher(s, s.cfg.AllocUpdateBatchWindow)
	s.keyring = newKeyring(s)
	s.members = newMembership(s.cfg.RetryJoin)
	s.autopilot = newAutopilotState()
	s.connectCA = newConnectCA(s)
	if err := s.registerEndpoints(); err != nil {
		return err
	}
	s.leaderNotifyCh = make(chan bool, 1)
	addr, err := net.ResolveTCPAddr("tcp", s.advertise)
	if err != nil {
		return fmt.Errorf("resolve advertise address %q: %w", s.advertise, err)
	}
	if err := s.setupRaft(addr); err != nil {
		return err
	}
	s.goRun(func() { _ = s.mux.Serve() })
	// Listen before the goroutine runs: a Shutdown right after start
	// closes only the listeners the mux already has, and serveRPC would
	// otherwise wait for ever on one made after it.
	rpcLn := s.mux.Listen(msgrpc.TypeRPC)
	s.goRun(func() { s.serveRPC(rpcLn) })
	s.goRun(s.monitorLeadership)
	if s.cfg.BootstrapExpect > 1 || len(s.cfg.RetryJoin) > 0 {
		s.goRun(s.runMembership)
	}
	return nil
}

// listen binds the RPC port (shared with Raft) and works out the address to
// advertise.
func (s *Server) listen() error {
	ln := s.cfg.RPCListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.RPCAddr); err != nil {
			return fmt.Errorf("listen for rpc on %s: %w", s.cfg.RPCAddr, err)
		}
	}
	s.mux = msgrpc.NewMux(s.secureListener(ln), s.cfg.Logger)
	adv, err := advertiseAddr(s.cfg.RPCAdvertise, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	s.advertise = adv
	return nil
}

// advertiseAddr returns explicit when set, else the bound address with an
// unspecified IP replaced by the first non-loopback address of the host.
func advertiseAddr(explicit string, bound net.Addr) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return bound.String(), nil
	}
	if !tcp.IP.IsUnspecified() {
		return tcp.String(), nil
	}
	ip, err := firstPrivateIP()
	if err != nil {
		return "", fmt.Errorf("choose an address to advertise (set rpc advertise): %w", err)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port)), nil
}

func firstPrivateIP() (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && ipn.IP.IsGlobalUnicast() {
			return ipn.IP, nil
		}
	}
	return net.IPv4(127, 0, 0, 1), nil
}

func (s *Server) brokerConfig() BrokerConfig {
	return BrokerConfig{
		NackTimeout:         s.cfg.EvalNackTimeout,
		DeliveryLimit:       s.cfg.EvalDeliveryLimit,
		InitialNackDelay:    s.cfg.EvalNackInitialDelay,
		SubsequentNackDelay: s.cfg.EvalNackSubsequentDelay,
	}
}

// goRun runs fn in a goroutine that Shutdown waits for.
func (s *Server) goRun(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Shutdown stops the server: leadership duties, Raft, listeners and stores.
// It is safe to call more than once.
func (s *Server) Shutdown() error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown() })
	return s.shutdownErr
}

func (s *Server) shutdown() error {
	s.logger.Info("shutting down server")
	s.cancel()
	var errs []error
	if s.raft != nil {
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("shutdown raft: %w", err))
		}
	}
	if s.raftTransport != nil {
		s.raftTransport.Close()
	}
	if s.mux != nil {
		s.mux.Close()
	}
	s.rpcConns.closeAll()
	if s.pool != nil {
		s.pool.Close()
	}
	s.wg.Wait()
	s.stopLeadership()
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// State returns the server's state store (read it; only the FSM writes).
func (s *Server) State() *state.StateStore { return s.state }

// IsLeader reports whether this server is the Raft leader.
func (s *Server) IsLeader() bool { return s.raft != nil && s.raft.State() == raft.Leader }

// RaftStats is Raft's own report (state, term, applied_index, commit_index,
// last_log_index…), the keys of Nomad's stats.raft.
func (s *Server) RaftStats() map[string]string {
	if s.raft == nil {
		return map[string]string{}
	}
	return s.raft.Stats()
}

// Leader returns the RPC address ("ip:port") of the leader, or "".
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// LocalAddr is the RPC address this server advertises (the bound address
// when none was configured, so port 0 shows the port picked).
func (s *Server) LocalAddr() string { return s.advertise }

// ID is the server's persistent Raft ID.
func (s *Server) ID() string { return s.id }

// leaderReady reports whether this server leads and its FSM holds every
// entry committed before its term (the barrier passed).
func (s *Server) leaderReady() bool { return s.IsLeader() && s.leader.caughtUp.Load() }

// HasLeader reports whether the cluster has a leader that can answer: some
// other server, or this one once its FSM caught up.
func (s *Server) HasLeader() bool {
	leader := s.Leader()
	return leader != "" && (leader != s.advertise || s.leader.caughtUp.Load())
}

// WaitForLeader blocks until the cluster has a leader and, when this server
// is the leader, until it finished taking up its duties (eval broker
// restored, workers running).
func (s *Server) WaitForLeader(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if leader := s.Leader(); leader != "" && (leader != s.advertise || s.leader.isEstablished()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-s.ctx.Done():
			return structs.ErrShutdown
		case <-tick.C:
		}
	}
}

// Region and Datacenter of the server.
func (s *Server) Region() string     { return s.cfg.Region }
func (s *Server) Datacenter() string { return s.cfg.Datacenter }

// snapshotMinIndex returns a state snapshot that includes at least index,
// waiting (up to a bound) for the FSM to apply it.
func (s *Server) snapshotMinIndex(ctx context.Context, index uint64) (*state.StateSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotWaitLimit)
	defer cancel()
	if err := s.fsm.applied.wait(ctx, index); err != nil {
		return nil, err
	}
	return s.state.Snapshot(), nil
}

// snapshotWaitLimit bounds how long a worker waits for the FSM to catch up.
const snapshotWaitLimit = 10 * time.Second
