package structs

// RootKeyState says what a key of the identity keyring may do.
type RootKeyState string

const (
	// RootKeyStateActive signs new workload identities. Exactly one key is
	// active once the leader has created the first.
	RootKeyStateActive RootKeyState = "active"
	// RootKeyStateInactive only verifies identities it signed before a
	// rotation; the leader deletes it once no running allocation needs it.
	RootKeyStateInactive RootKeyState = "inactive"
)

var rootKeyStates = []RootKeyState{RootKeyStateActive, RootKeyStateInactive}

func (s RootKeyState) String() string { return string(s) }

// ParseRootKeyState rejects anything but "active" and "inactive".
func ParseRootKeyState(s string) (RootKeyState, error) {
	return parseEnum("root key state", s, rootKeyStates)
}

// IdentitySigningAlgorithm is the JWS algorithm of every key: ECDSA over
// P-256 with SHA-256, accepted by every JWT library and cloud OIDC consumer
// and cheap enough to sign every task of a large plan (docs/identity.md).
const IdentitySigningAlgorithm = "ES256"

// RootKey is one signing key of the cluster's identity keyring, replicated
// through Raft. The leader generates it and stamps KeyID and CreateTime
// before proposing it; the FSM only stores it.
type RootKey struct {
	KeyID      string
	Algorithm  string
	CreateTime int64 // Unix nanoseconds, stamped by the leader
	State      RootKeyState
	// PrivateKey is the PKCS #8 DER encoding of the private key. It lives in
	// the Raft log and snapshots (the servers' data dir) and nowhere else:
	// never on the HTTP API, never sent to clients.
	PrivateKey []byte `json:"-" codec:"PrivateKey"`

	CreateIndex uint64
	ModifyIndex uint64
}

// Meta returns the key without its private material.
func (k *RootKey) Meta() *RootKeyMeta {
	return &RootKeyMeta{
		KeyID: k.KeyID, Algorithm: k.Algorithm, CreateTime: k.CreateTime, State: k.State,
		CreateIndex: k.CreateIndex, ModifyIndex: k.ModifyIndex,
	}
}

// RootKeyMeta describes a key for operators (GET /v1/operator/keyring/keys).
type RootKeyMeta struct {
	KeyID       string
	Algorithm   string
	CreateTime  int64
	State       RootKeyState
	CreateIndex uint64
	ModifyIndex uint64
}

// RootKeyUpsertRequest is the Raft entry that stores a key. When the key is
// active, the key active before it becomes inactive in the same entry.
type RootKeyUpsertRequest struct {
	RootKey *RootKey
	WriteRequest
}

// RootKeyDeleteRequest is the Raft entry that drops inactive keys.
type RootKeyDeleteRequest struct {
	KeyIDs []string
	WriteRequest
}

// KeyringRotateRequest asks the leader for a new active key.
type KeyringRotateRequest struct {
	WriteRequest
}

// KeyringRotateResponse returns the new key's metadata.
type KeyringRotateResponse struct {
	Key *RootKeyMeta
	WriteMeta
}

// KeyringListRequest lists the keyring.
type KeyringListRequest struct {
	QueryOptions
}

// KeyringListResponse lists key metadata, newest first.
type KeyringListResponse struct {
	Keys []*RootKeyMeta
	QueryMeta
}

// KeyringOIDCDiscoveryResponse says what /.well-known/openid-configuration
// needs from the servers: the issuer their tokens name ("" when none is
// configured, and discovery is off).
type KeyringOIDCDiscoveryResponse struct {
	Issuer string
	QueryMeta
}

// KeyringPublicKey is the public half of a key, for JWKS.
type KeyringPublicKey struct {
	KeyID     string
	Algorithm string
	// PublicKey is the PKIX DER encoding.
	PublicKey  []byte
	CreateTime int64
}

// KeyringPublicKeysResponse lists the public keys that verify identities.
type KeyringPublicKeysResponse struct {
	PublicKeys []*KeyringPublicKey
	QueryMeta
}
