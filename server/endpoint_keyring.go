package server

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// keyringEndpoint serves Keyring.*: the identity keyring's metadata and
// public keys, and rotation. Key material never leaves the servers.
type keyringEndpoint struct{ srv *Server }

// Rotate makes a new key active; the previous key stays for verification.
func (k *keyringEndpoint) Rotate(args *structs.KeyringRotateRequest, reply *structs.KeyringRotateResponse) error {
	if done, err := k.srv.forward(structs.MethodKeyringRotate, false, args, reply); done {
		return err
	}
	rk, err := k.srv.keyring.rotate()
	if err != nil {
		return fmt.Errorf("rotate keyring: %w", err)
	}
	reply.Key, reply.Index = rk.Meta(), rk.ModifyIndex
	return nil
}

// List returns every key's metadata, newest first.
func (k *keyringEndpoint) List(args *structs.KeyringListRequest, reply *structs.KeyringListResponse) error {
	if done, err := k.srv.forward(structs.MethodKeyringList, args.AllowStale, args, reply); done {
		return err
	}
	return k.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		keys, err := st.RootKeys(ws)
		if err != nil {
			return 0, err
		}
		reply.Keys = make([]*structs.RootKeyMeta, 0, len(keys))
		for _, rk := range keys {
			reply.Keys = append(reply.Keys, rk.Meta())
		}
		return st.RootKeysIndex(ws), nil
	})
}

// PublicKeys returns the public half of every key, active and inactive: a
// token signed before a rotation must still verify for whoever reads JWKS.
func (k *keyringEndpoint) PublicKeys(args *structs.KeyringListRequest, reply *structs.KeyringPublicKeysResponse) error {
	if done, err := k.srv.forward(structs.MethodKeyringPublicKeys, args.AllowStale, args, reply); done {
		return err
	}
	return k.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		keys, err := st.RootKeys(ws)
		if err != nil {
			return 0, err
		}
		reply.PublicKeys = make([]*structs.KeyringPublicKey, 0, len(keys))
		for _, rk := range keys {
			pk, err := k.srv.keyring.privateKey(rk)
			if err != nil {
				return 0, err
			}
			der, err := identity.MarshalPublicKey(&pk.PublicKey)
			if err != nil {
				return 0, err
			}
			reply.PublicKeys = append(reply.PublicKeys, &structs.KeyringPublicKey{
				KeyID: rk.KeyID, Algorithm: rk.Algorithm, PublicKey: der, CreateTime: rk.CreateTime,
			})
		}
		return st.RootKeysIndex(ws), nil
	})
}

// OIDCDiscovery returns the issuer of the servers' tokens, for
// /.well-known/openid-configuration. Any server answers from its config.
func (k *keyringEndpoint) OIDCDiscovery(args *structs.KeyringListRequest, reply *structs.KeyringOIDCDiscoveryResponse) error {
	reply.Issuer = k.srv.cfg.OIDCIssuer
	k.srv.setQueryMeta(&reply.QueryMeta)
	return nil
}
