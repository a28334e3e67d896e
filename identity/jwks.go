package identity

import (
	"crypto/ecdsa"
	"encoding/base64"
)

// JWK is one public key in JSON Web Key form (RFC 7517, 7518 section 6.2),
// elliptic-curve members only.
type JWK struct {
	KeyType   string `json:"kty"`
	Use       string `json:"use"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	Y         string `json:"y"`
}

// JWKS is a JSON Web Key Set, the body of /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK describes pub as a signing key named kid. The coordinates are
// padded to the curve size, as RFC 7518 requires.
func NewJWK(kid string, pub *ecdsa.PublicKey) JWK {
	x, y := make([]byte, coordSize), make([]byte, coordSize)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	return JWK{
		KeyType: "EC", Use: "sig", KeyID: kid, Algorithm: Algorithm, Curve: "P-256",
		X: base64.RawURLEncoding.EncodeToString(x), Y: base64.RawURLEncoding.EncodeToString(y),
	}
}
