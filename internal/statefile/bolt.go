package statefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bbolt's on-disk constants (go.etcd.io/bbolt/internal/common): a page
// starts with a 16-byte header; pages 0 and 1 hold a meta record each.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64 // magic..txid is 56 bytes, then the checksum
	checksumOffset = 56
	noFreelist     = ^uint64(0)
	// lockTimeout bounds the wait for a file another process holds open.
	lockTimeout = 2 * time.Second
)

// ErrInUse says another process holds the file: not corruption.
var ErrInUse = errors.New("in use by another process")

// boltMeta is the part of a bbolt meta record the checks need.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high water mark: pages [0, pgid) are in the file
	txid     uint64
}

// CheckBolt checks that path is a whole, consistent bbolt database before
// anything else opens it. It returns nil for a file that does not exist (the
// caller decides whether that is allowed), a *CorruptError for a file that
// must not be opened, ErrInUse when another process holds it, or another
// error when it cannot be read at all.
func CheckBolt(path string) error {
	fi, err := os.Stat(path) // a symlink to another disk is the operator's choice
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return &CorruptError{Path: path, Reason: "not a regular file (" + fi.Mode().Type().String() + ")"}
	}
	if fi.Size() == 0 {
		return &CorruptError{Path: path, Reason: "empty (0 bytes)"}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err) // permissions: not corruption, never reset
	}
	reason := readBoltMeta(f, fi.Size())
	f.Close()
	if reason != "" {
		return &CorruptError{Path: path, Reason: reason}
	}
	if err := Guard(func() error { return walkBolt(path) }); err != nil {
		if errors.Is(err, ErrInUse) {
			return fmt.Errorf("%s: %w", path, err)
		}
		return &CorruptError{Path: path, Reason: "inconsistent database", Err: err}
	}
	return nil
}

// readBoltMeta reads both meta pages and checks the newest valid one against
// the file's size. It returns a reason when the file must be refused.
func readBoltMeta(f io.ReaderAt, size int64) string {
	m0, ok0 := readMetaAt(f, pageHeaderSize)
	var candidates []boltMeta
	if ok0 {
		candidates = append(candidates, m0)
	}
	// Page 1 sits one page in; without a valid page 0 the page size is
	// unknown, so try the sizes bbolt would have used.
	sizes := []int64{int64(os.Getpagesize()), 4096, 16384, 65536}
	if ok0 {
		sizes = []int64{int64(m0.pageSize)}
	}
	for _, ps := range sizes {
		if m1, ok := readMetaAt(f, ps+pageHeaderSize); ok && (!ok0 || m1.pageSize == m0.pageSize) {
			candidates = append(candidates, m1)
			break
		}
	}
	if len(candidates) == 0 {
		return "not a bbolt database: no valid meta page (zeroed, overwritten or another kind of file)"
	}
	for _, m := range candidates {
		if r := checkMeta(m, size); r != "" {
			return r
		}
	}
	return ""
}

// checkMeta checks one meta record's page size and page numbers against the
// size of the file.
func checkMeta(m boltMeta, size int64) string {
	ps := int64(m.pageSize)
	switch {
	case ps < 512 || ps > 1<<20 || ps&(ps-1) != 0:
		return fmt.Sprintf("meta page has an impossible page size %d", ps)
	case size%ps != 0:
		return fmt.Sprintf("truncated: %d bytes is not a whole number of %d-byte pages", size, ps)
	case m.pgid < 4 || m.pgid > uint64(size/ps):
		return fmt.Sprintf("truncated: the file holds %d pages, its meta page says %d", size/ps, m.pgid)
	case m.root >= m.pgid:
		return fmt.Sprintf("meta page points its root at page %d, past the end (%d pages)", m.root, m.pgid)
	case m.freelist != noFreelist && m.freelist >= m.pgid:
		return fmt.Sprintf("meta page points its freelist at page %d, past the end (%d pages)", m.freelist, m.pgid)
	}
	return ""
}

// readMetaAt decodes and validates (magic, version, checksum) the meta
// record at off.
func readMetaAt(r io.ReaderAt, off int64) (boltMeta, bool) {
	buf := make([]byte, metaSize)
	if _, err := r.ReadAt(buf, off); err != nil {
		return boltMeta{}, false
	}
	le := binary.LittleEndian // bbolt writes native order; roam runs on little-endian hosts
	if le.Uint32(buf[0:]) != boltMagic || le.Uint32(buf[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(buf[:checksumOffset])
	if h.Sum64() != le.Uint64(buf[checksumOffset:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: le.Uint32(buf[8:]), root: le.Uint64(buf[16:]),
		freelist: le.Uint64(buf[32:]), pgid: le.Uint64(buf[40:]), txid: le.Uint64(buf[48:]),
	}, true
}

// walkBolt opens the file read-only and reads every bucket, key and value
// on this goroutine, so that a panic or fault is Guard's to catch. bbolt's
// own tx.Check is not run: it works on a goroutine of its own, out of
// Guard's reach, and on a page whose overflow count is garbage it fills a
// map without bound (found by FuzzCheckBolt).
func walkBolt(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return ErrInUse
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		w := &walker{sum: crc32.NewIEEE(), budget: tx.Size() / leafElementSize}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return w.bucket(b) })
	})
}

// walker reads every key and value; the checksum makes the reads touch
// every byte. Its budget is the most entries a file of this size can hold:
// a page that points back at itself would otherwise loop for ever.
type walker struct {
	sum    io.Writer
	budget int64
}

// leafElementSize is the smallest space an entry takes on a page.
const leafElementSize = 16

func (w *walker) bucket(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if w.budget--; w.budget < 0 {
			return errors.New("more entries than the file can hold: its pages refer to each other in a loop")
		}
		w.sum.Write(k)
		if v != nil {
			w.sum.Write(v)
			continue
		}
		nested := b.Bucket(k)
		if nested == nil {
			return fmt.Errorf("key %x is neither a value nor a bucket", k)
		}
		if err := w.bucket(nested); err != nil {
			return err
		}
	}
	return nil
}
