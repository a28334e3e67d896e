package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Leases implements netns.LeaseStore: alloc ID → bridge address.
func (db *DB) Leases() (map[string]string, error) {
	out := map[string]string{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(leasesBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}

// PutLease implements netns.LeaseStore.
func (db *DB) PutLease(allocID, addr string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(leasesBucket).Put([]byte(allocID), []byte(addr))
	})
}

// DeleteLease implements netns.LeaseStore.
func (db *DB) DeleteLease(allocID string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(leasesBucket).Delete([]byte(allocID))
	})
}

// NetworkRecord is what the client set up for one allocation's network,
// kept until it is torn down, so that a restarted client repairs it or,
// for an allocation it no longer runs, removes it.
type NetworkRecord struct {
	AllocID string
	// Mode is the group's network mode ("bridge", "none", "cni/<name>").
	Mode string
	// NSPath is the namespace; OwnedNS says the client created it (and
	// deletes it), rather than a driver (docker's pause container).
	NSPath  string
	OwnedNS bool
	// Driver created the namespace when OwnedNS is false.
	Driver string
	// Hostname is the group network's hostname, which a driver asked for
	// the namespace again is given.
	Hostname string
	// NSIdentity is the namespace's identity (netns.Identity) when it was
	// last set up: another one at NSPath means the tasks may be in the old.
	NSIdentity uint64
	// Ports and Args are what the configurator was given, for teardown.
	Ports []PortRecord
	Args  map[string]string
}

// PortRecord is one mapped port of a NetworkRecord.
type PortRecord struct {
	Label, HostIP           string
	HostPort, ContainerPort int
	Gateway                 bool
}

// PutNetwork stores an allocation's network record.
func (db *DB) PutNetwork(r *NetworkRecord) error {
	b, err := db.encode(r)
	if err != nil {
		return err
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(networksBucket).Put([]byte(r.AllocID), b)
	})
	if err != nil {
		return fmt.Errorf("put network of %s: %w", r.AllocID, err)
	}
	return nil
}

// Networks returns every stored network record by alloc ID.
func (db *DB) Networks() (map[string]*NetworkRecord, error) {
	out := map[string]*NetworkRecord{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(networksBucket).ForEach(func(k, v []byte) error {
			r := new(NetworkRecord)
			if err := db.decode(v, r); err != nil {
				return fmt.Errorf("network of %s: %w", k, err)
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}

// DeleteNetwork removes an allocation's network record.
func (db *DB) DeleteNetwork(allocID string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(networksBucket).Delete([]byte(allocID))
	})
}
