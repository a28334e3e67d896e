// Package wire is the binary encoding roam uses between its own processes: Raft
// log entries, Raft snapshots and the server RPC protocol. It is MessagePack
// (hashicorp/go-msgpack), which encodes structs by field name, so fields can
// be added without breaking older data.
package wire

import (
	"bytes"
	"fmt"
	"io"
	"reflect"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Handle returns the MessagePack handle shared by every encoder in roam. A new
// handle per call keeps this package free of global mutable state; handles are
// cheap and safe for concurrent use once built.
func Handle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	return h
}

// Encode appends the MessagePack form of v to a buffer that starts with prefix.
func Encode(h *codec.MsgpackHandle, prefix []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(prefix)
	if err := codec.NewEncoder(&buf, h).Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// Decode decodes b into v.
func Decode(h *codec.MsgpackHandle, b []byte, v any) error {
	if err := codec.NewDecoderBytes(b, h).Decode(v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// NewEncoder returns a streaming encoder.
func NewEncoder(h *codec.MsgpackHandle, w io.Writer) *codec.Encoder { return codec.NewEncoder(w, h) }

// NewDecoder returns a streaming decoder.
func NewDecoder(h *codec.MsgpackHandle, r io.Reader) *codec.Decoder { return codec.NewDecoder(r, h) }
