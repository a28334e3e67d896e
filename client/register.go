package client

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// Retry delays for registration and heartbeats after an error.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

// registerAndHeartbeat registers the node, then heartbeats at a jittered
// fraction of the TTL the servers hand out. It registers again when asked
// (fingerprints changed) or when a server no longer knows the node.
func (c *Client) registerAndHeartbeat(ctx context.Context) {
	bo := &backoff.Backoff{Min: retryMin, Max: retryMax}
	needRegister := true
	for {
		if needRegister {
			if err := c.register(ctx); err != nil {
				c.logger.Error("registering node", "error", err)
				if !sleep(ctx, bo.Next()) {
					return
				}
				continue
			}
			needRegister = false
			bo.Reset()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.registerCh:
			needRegister = true
			continue
		case <-time.After(c.heartbeatDelay()):
		}
		if err := c.heartbeat(ctx); err != nil {
			if isUnknownNode(err) {
				c.logger.Warn("servers do not know this node; registering again", "error", err)
				needRegister = true
				continue
			}
			c.logger.Error("heartbeat failed", "error", err)
			if !sleep(ctx, min(bo.Next(), c.ttl()/2)) {
				return
			}
			continue
		}
		bo.Reset()
	}
}

func (c *Client) register(ctx context.Context) error {
	node := c.Node()
	req := &structs.NodeRegisterRequest{Node: node, WriteRequest: structs.WriteRequest{Region: c.cfg.Region}}
	var resp structs.NodeUpdateResponse
	if err := c.rpc(ctx, structs.MethodNodeRegister, req, &resp); err != nil {
		return err
	}
	c.setTTL(resp.HeartbeatTTL)
	c.registerOnce.Do(func() { close(c.registered) })
	c.logger.Info("node registered", "heartbeat_ttl", resp.HeartbeatTTL, "class", node.ComputedClass)
	return nil
}

func (c *Client) heartbeat(ctx context.Context) error {
	req := &structs.NodeUpdateStatusRequest{
		NodeID: c.NodeID(), Status: structs.NodeStatusReady, UpdatedAt: time.Now().UnixNano(),
		WriteRequest: structs.WriteRequest{Region: c.cfg.Region},
	}
	var resp structs.NodeUpdateResponse
	if err := c.rpc(ctx, structs.MethodNodeUpdateStatus, req, &resp); err != nil {
		return err
	}
	c.setTTL(resp.HeartbeatTTL)
	return nil
}

func (c *Client) setTTL(ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.nodeMu.Lock()
	c.heartbeatTTL = ttl
	c.nodeMu.Unlock()
}

func (c *Client) ttl() time.Duration {
	c.nodeMu.RLock()
	defer c.nodeMu.RUnlock()
	if c.heartbeatTTL <= 0 {
		return structs.DefaultHeartbeatTTL
	}
	return c.heartbeatTTL
}

// heartbeatDelay is between half and three quarters of the TTL: early enough
// to retry once before the servers give up, spread so that many clients do
// not heartbeat in lockstep.
func (c *Client) heartbeatDelay() time.Duration {
	ttl := c.ttl()
	return ttl/2 + time.Duration(rand.Int64N(int64(ttl/4)+1))
}

// triggerRegister asks the heartbeat loop to register again.
func (c *Client) triggerRegister() {
	select {
	case c.registerCh <- struct{}{}:
	default:
	}
}

// awaitLateDrivers puts each slow driver's first fingerprint on the node
// as it arrives and registers again, so that the driver becomes available
// without having held the node's first registration back.
func (c *Client) awaitLateDrivers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-c.lateDrivers:
			if !ok {
				return
			}
			c.nodeMu.Lock()
			changed := applyDriverResult(c.node, r)
			c.nodeMu.Unlock()
			c.logger.Info("driver fingerprinted", "driver", r.name, "detected", r.info.Detected, "healthy", r.info.Healthy)
			if changed {
				c.triggerRegister()
			}
		}
	}
}

// awaitCNIVersions refreshes the network fingerprint once the CNI plugins'
// versions, read in the background at start, are in.
func (c *Client) awaitCNIVersions(ctx context.Context) {
	if c.network == nil {
		return
	}
	select {
	case <-ctx.Done():
	case <-c.network.VersionsRead():
		if c.refreshNetworkFingerprint() {
			c.logger.Info("CNI plugin versions read; registering again")
			c.triggerRegister()
		}
	}
}

// refreshDrivers re-fingerprints the drivers periodically and registers again
// when their health or attributes changed.
func (c *Client) refreshDrivers(ctx context.Context) {
	t := time.NewTicker(c.cfg.DriverFingerprintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		infos, attrs := fingerprintDrivers(ctx, c.drivers)
		c.nodeMu.Lock()
		changed := driversChanged(c.node.Drivers, infos)
		if changed {
			applyDriverFingerprint(c.node, infos, attrs)
		}
		c.nodeMu.Unlock()
		if changed {
			c.logger.Info("driver fingerprint changed; registering again")
			c.triggerRegister()
		}
		if c.refreshNetworkFingerprint() {
			c.logger.Info("network fingerprint changed; registering again")
			c.triggerRegister()
		}
	}
}

// rpc makes an RPC that ends with ctx. A read carries ctx in its
// QueryOptions, which cancels it on the server too (a blocking query ends at
// once); a write cannot be recalled once sent, so it is abandoned: its
// goroutine ends when the server answers.
func (c *Client) rpc(ctx context.Context, method string, args, reply any) error {
	if q, ok := args.(interface{ SetContext(context.Context) }); ok {
		q.SetContext(ctx)
	}
	errCh := make(chan error, 1)
	go func() { errCh <- c.cfg.RPC.RPC(method, args, reply) }()
	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
