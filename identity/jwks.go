package identity

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
)

// JWK is one public key in JSON Web Key form (RFC 7517), RSA members only.
type JWK struct {
	KeyType   string `json:"kty"`
	Use       string `json:"use"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	N         string `json:"n"`
	E         string `json:"e"`
}

// JWKS is a JSON Web Key Set, the body of /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK describes pub as a signing key named kid.
func NewJWK(kid string, pub *rsa.PublicKey) JWK {
	return JWK{
		KeyType: "RSA", Use: "sig", KeyID: kid, Algorithm: Algorithm,
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}
