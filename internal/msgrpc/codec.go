package msgrpc

import (
	"io"
	"net/rpc"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/roam-sh/roam/internal/wire"
)

// NewServerCodec returns a net/rpc server codec that reads requests from and
// writes responses to conn as MessagePack. The codec buffers reads and writes
// and flushes after every message.
func NewServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec {
	return codec.GoRpc.ServerCodec(conn, wire.Handle())
}

// NewClientCodec returns the client side of NewServerCodec.
func NewClientCodec(conn io.ReadWriteCloser) rpc.ClientCodec {
	return codec.GoRpc.ClientCodec(conn, wire.Handle())
}

// NewClient returns a net/rpc client over conn. It is safe for concurrent
// calls, which share the connection and are matched by sequence number.
func NewClient(conn io.ReadWriteCloser) *rpc.Client {
	return rpc.NewClientWithCodec(NewClientCodec(conn))
}
