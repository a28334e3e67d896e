package structs

import "time"

// CARoot is one root of the mesh's certificate authority (docs/mesh.md). It
// is replicated through raft with its private keys, like Consul's built-in
// provider: any server that becomes leader can sign. Keys never reach an API
// response or a client: Public strips them.
type CARoot struct {
	ID           string // colon-hex SHA-1 of the root's subject key ID
	Name         string
	SerialNumber uint64
	SigningKeyID string // colon-hex subject key ID of the intermediate that signs leaves
	TrustDomain  string // <cluster id>.consul
	NotBefore    time.Time
	NotAfter     time.Time
	RootCert     string // PEM, self-signed
	// IntermediateCerts are sent with every leaf: the intermediate that
	// signs, and after a rotation the cross-signed certificate that lets
	// peers still trusting only the previous root verify new leaves.
	IntermediateCerts []string
	Active            bool
	PrivateKeyType    string // "ec"
	PrivateKeyBits    int    // 256
	RotatedOutAt      time.Time

	// Secret material: replicated, never served.
	RootKey     string `json:",omitempty"` // PEM PKCS#8
	SigningKey  string `json:",omitempty"` // PEM PKCS#8 of the intermediate
	SigningCert string `json:",omitempty"` // PEM intermediate (also first of IntermediateCerts)

	CreateIndex uint64
	ModifyIndex uint64
}

// Public is a copy without private keys, what API responses carry.
func (r *CARoot) Public() *CARoot {
	c := *r
	c.RootKey, c.SigningKey = "", ""
	c.IntermediateCerts = append([]string(nil), r.IntermediateCerts...)
	return &c
}

// CARootList is what a roots query returns (Consul's IndexedCARoots).
type CARootList struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []*CARoot
	QueryMeta
}

// CARootsUpsertRequest stores roots and removes those named in Delete
// (rotated-out roots the leader prunes once no leaf they signed can be
// alive); the leader builds both (keys, times, cross-signatures) so that
// applying the entry reads no clock or random.
type CARootsUpsertRequest struct {
	Roots  []*CARoot
	Delete []string // root IDs
	// MaxRoots, when set, refuses the entry if it would leave more roots
	// than this and more than before: checked where entries apply one at
	// a time, so racing rotations cannot pass the cap together.
	MaxRoots int
	WriteRequest
}

// CASignRequest asks the servers to sign a leaf certificate. The CSR is
// made on the client node, which keeps the key; Identity is the workload
// identity of the allocation the certificate is for, in AuthToken (the JWT
// the servers signed at placement).
type CASignRequest struct {
	CSR     string // PEM
	Service string
	// NodeID is the requesting client's node: a leaf (and so its key) is
	// made only on the node that runs the allocation.
	NodeID string
	QueryOptions
}

// IssuedCert is a signed leaf certificate, without its key.
type IssuedCert struct {
	SerialNumber string // colon-hex
	CertPEM      string // leaf followed by the intermediates
	Service      string
	ServiceURI   string
	ValidAfter   time.Time
	ValidBefore  time.Time
	RootID       string // the root that signed it
	CreateIndex  uint64
	ModifyIndex  uint64
}

// CASignResponse carries the signed certificate.
type CASignResponse struct {
	Cert *IssuedCert
	QueryMeta
}

// CARotateRequest makes a fresh root the active one (built by the leader).
type CARotateRequest struct {
	WriteRequest
}

// CARotateResponse names the new active root.
type CARotateResponse struct {
	ActiveRootID string
	WriteMeta
}
