package state

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	bolt "go.etcd.io/bbolt"

	"github.com/roam-sh/roam/internal/statefile"
	"github.com/roam-sh/roam/internal/wire"
)

// FileName is the database file inside the client's state dir.
const FileName = "client.db"

// schemaVersion is written on creation and checked on open.
const schemaVersion = 1

var (
	metaBucket   = []byte("meta")
	allocsBucket = []byte("allocs")
	// leasesBucket and networksBucket (network.go) outlive an allocation's
	// own bucket: they are deleted only once its network is torn down.
	leasesBucket   = []byte("netns_leases")
	networksBucket = []byte("alloc_networks")

	versionKey    = []byte("version")
	nodeIDKey     = []byte("node_id")
	nodeSecretKey = []byte("node_secret")
)

// DB is the client's state database. It is safe for concurrent use.
type DB struct {
	bolt   *bolt.DB
	codec  *codec.MsgpackHandle
	logger *slog.Logger
}

// OpenOptions are Open's optional behaviours.
type OpenOptions struct {
	// ResetCorrupt moves a corrupt database aside (renamed
	// client.db.corrupt-<time>) and starts an empty one, instead of
	// refusing to open it.
	ResetCorrupt bool
}

// Open opens (creating if needed) the database in dir. The file is checked
// first (statefile.CheckBolt): bbolt panics on some damaged files, and an
// empty one it would silently start afresh.
func Open(dir string, logger *slog.Logger, opts ...OpenOptions) (*DB, error) {
	var o OpenOptions
	for _, x := range opts {
		o = x
	}
	logger = logger.With("component", "client_state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("client state dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := resetOrRefuse(path, statefile.CheckBolt(path), o, logger); err != nil {
		return nil, err
	}
	db, err := open(path, logger)
	if errors.Is(err, statefile.ErrCorrupt) {
		// A sound bbolt file that is not client state: moved aside under
		// reset like any corrupt file, then opened afresh.
		if err := resetOrRefuse(path, err, o, logger); err != nil {
			return nil, err
		}
		db, err = open(path, logger)
	}
	return db, err
}

// open opens a checked file and checks (or writes) its schema version.
func open(path string, logger *slog.Logger) (*DB, error) {
	_, statErr := os.Stat(path)
	existed := statErr == nil
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open client state %s: %w", path, err)
	}
	db := &DB{bolt: b, codec: wire.Handle(), logger: logger}
	if err := db.init(existed); err != nil {
		b.Close()
		if errors.Is(err, errNoSchema) {
			return nil, &statefile.CorruptError{Path: path, Reason: "a bbolt file without the client's schema version (not client state, or emptied)"}
		}
		return nil, fmt.Errorf("client state %s: %w", path, err)
	}
	return db, nil
}

// resetOrRefuse returns a corrupt-file error with the remedy, or with
// ResetCorrupt moves the file aside and returns nil. Other errors (a file
// held by another agent, permissions) are returned as they are.
func resetOrRefuse(path string, err error, o OpenOptions, logger *slog.Logger) error {
	if err == nil || !errors.Is(err, statefile.ErrCorrupt) {
		return err
	}
	if !o.ResetCorrupt {
		return statefile.WithRemedy(err, remedy(path))
	}
	dst, mvErr := statefile.MoveAside(path, time.Now())
	if mvErr != nil {
		return mvErr
	}
	logger.Warn("moved corrupt client state aside; starting with none: tasks it ran are not re-attached",
		"error", err, "moved_to", dst)
	return nil
}

// remedy says what to do about a refused client.db.
func remedy(path string) string {
	return fmt.Sprintf(`The client's record of its allocations cannot be trusted, so the agent will not start on it.
To recover: stop the agent, copy %s somewhere safe, then either
  - restore it from a backup copy, or
  - start once with "roam agent -reset-state": the file is moved aside (renamed *.corrupt-<time>) and
    the client starts with none; it registers as a new node, and tasks it was running are not
    re-attached (stop them by hand, or they are left running unmanaged).`, path)
}

// errNoSchema says an existing file lacks the version written on creation:
// starting afresh in it would be the silent fresh start Open refuses.
var errNoSchema = errors.New("no schema version")

func (db *DB) init(existed bool) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{allocsBucket, leasesBucket, networksBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		v := meta.Get(versionKey)
		switch {
		case v == nil && existed:
			return errNoSchema
		case v == nil:
			return meta.Put(versionKey, []byte{schemaVersion})
		case len(v) != 1 || v[0] != schemaVersion:
			return fmt.Errorf("client state schema version %v, this client knows %d", v, schemaVersion)
		}
		return nil
	})
}

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

// NodeIdentity returns the node's persisted ID and secret ("" if none yet).
func (db *DB) NodeIdentity() (id, secret string, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(metaBucket)
		id, secret = string(m.Get(nodeIDKey)), string(m.Get(nodeSecretKey))
		return nil
	})
	return id, secret, err
}

// PutNodeIdentity persists the node's ID and secret.
func (db *DB) PutNodeIdentity(id, secret string) error {
	if id == "" || secret == "" {
		return errors.New("node identity: empty id or secret")
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(metaBucket)
		if err := m.Put(nodeIDKey, []byte(id)); err != nil {
			return err
		}
		return m.Put(nodeSecretKey, []byte(secret))
	})
}

func (db *DB) encode(v any) ([]byte, error) { return wire.Encode(db.codec, nil, v) }

func (db *DB) decode(b []byte, v any) error { return wire.Decode(db.codec, b, v) }
