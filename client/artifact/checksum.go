package artifact

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// checksum is an expected digest from the `checksum` option.
type checksum struct {
	kind string
	want []byte
	hash func() hash.Hash
}

// hashes are the supported digest kinds, by name and by hex length.
var hashes = map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

var kindByHexLen = map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

// parseChecksum reads "type:hex" (or a bare hex digest whose length says its
// type). An empty option means no check.
func parseChecksum(opt string) (*checksum, error) {
	if opt == "" {
		return nil, nil
	}
	kind, value, ok := strings.Cut(opt, ":")
	if !ok {
		value = opt
		kind = kindByHexLen[len(opt)]
	}
	kind = strings.ToLower(kind)
	h, known := hashes[kind]
	if !known {
		return nil, fmt.Errorf("checksum %q: unsupported type (use md5, sha1, sha256 or sha512)", opt)
	}
	want, err := hex.DecodeString(value)
	if err != nil || len(want) != h().Size() {
		return nil, fmt.Errorf("checksum %q: not a %s digest in hex", opt, kind)
	}
	return &checksum{kind: kind, want: want, hash: h}, nil
}

// verify hashes the file at path and compares.
func (c *checksum) verify(path, source string) error {
	if c == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := c.hash()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("checksum: read %s: %w", source, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, c.want) {
		return fmt.Errorf("checksum mismatch: %s of %s is %x, expected %x", c.kind, source, got, c.want)
	}
	return nil
}
