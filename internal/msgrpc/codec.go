package msgrpc

import (
	"bufio"
	"io"
	"net/rpc"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/roam-sh/roam/internal/wire"
)

// NewServerCodec returns a net/rpc server codec that reads requests from and
// writes responses to conn as MessagePack. Reads and writes are buffered;
// writes are flushed after every message.
func NewServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec {
	return codec.GoRpc.ServerCodec(bufferedReads(conn), wire.Handle())
}

// NewClientCodec returns the client side of NewServerCodec.
func NewClientCodec(conn io.ReadWriteCloser) rpc.ClientCodec {
	return codec.GoRpc.ClientCodec(bufferedReads(conn), wire.Handle())
}

// NewClient returns a net/rpc client over conn. It is safe for concurrent
// calls, which share the connection and are matched by sequence number.
func NewClient(conn io.ReadWriteCloser) *rpc.Client {
	return rpc.NewClientWithCodec(NewClientCodec(conn))
}

// readBufferSize is the read buffer of one RPC connection: a server holds
// one per client, so it stays small; a client's batch of allocation updates
// (~15 KiB for ten) then takes two reads.
const readBufferSize = 8 << 10

// bufferedConn reads conn through a buffer and writes and closes it as is.
//
// go-msgpack's GoRpc codec means to buffer both directions, but it decides
// whether the reader is already buffered by looking at its own buffered
// writer, which always looks buffered, so it reads the connection directly:
// one read syscall per MessagePack token. The codec keeps one decoder per
// connection, so reading ahead into the buffer loses nothing.
type bufferedConn struct {
	*bufio.Reader
	io.Writer
	io.Closer
}

func bufferedReads(conn io.ReadWriteCloser) io.ReadWriteCloser {
	return &bufferedConn{Reader: bufio.NewReaderSize(conn, readBufferSize), Writer: conn, Closer: conn}
}
