package identity

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Algorithm is the only JWS algorithm roam signs with and accepts: ECDSA
// over P-256 with SHA-256 (RFC 7518 section 3.4).
const Algorithm = "ES256"

// coordSize is the byte length of r and s in an ES256 signature, which JWS
// encodes as the fixed-size concatenation r || s (not ASN.1).
const coordSize = 32

// Errors of Verify, to tell a forged or mangled token from a lookup failure.
var (
	ErrMalformed    = errors.New("malformed token")
	ErrAlgorithm    = errors.New("unsupported signing algorithm")
	ErrBadSignature = errors.New("invalid token signature")
)

// header is the JOSE header of roam's tokens.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// b64 is strict: a token has one spelling, so a re-spelled signature (other
// unused bits in its last character) does not verify as a second token.
var b64 = base64.RawURLEncoding.Strict()

// Sign returns the compact JWS of claims (any JSON-encodable value), signed
// with key and naming kid in its header.
func Sign(key *ecdsa.PrivateKey, kid string, claims any) (string, error) {
	h, err := json.Marshal(header{Alg: Algorithm, Kid: kid, Typ: "JWT"})
	if err != nil {
		return "", fmt.Errorf("encode token header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	signed := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(signed))
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	sig := make([]byte, 2*coordSize)
	r.FillBytes(sig[:coordSize])
	sv.FillBytes(sig[coordSize:])
	return signed + "." + b64.EncodeToString(sig), nil
}

// parts splits a compact JWS and decodes its header.
func parts(token string) (header, []string, error) {
	p := strings.Split(token, ".")
	if len(p) != 3 {
		return header{}, nil, fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformed, len(p))
	}
	raw, err := b64.DecodeString(p[0])
	if err != nil {
		return header{}, nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return header{}, nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	return h, p, nil
}

// KeyID returns the key ID a token's header names, without verifying it:
// the caller looks the key up, then calls Verify.
func KeyID(token string) (string, error) {
	h, _, err := parts(token)
	if err != nil {
		return "", err
	}
	if h.Kid == "" {
		return "", fmt.Errorf("%w: no key ID in header", ErrMalformed)
	}
	return h.Kid, nil
}

// LooksLikeToken reports whether s has the shape of a compact JWS, to tell
// a workload identity from other kinds of auth token.
func LooksLikeToken(s string) bool {
	return strings.Count(s, ".") == 2 && strings.HasPrefix(s, "eyJ")
}

// Verify checks token's signature with pub and decodes its claims into
// claims. Only ES256 is accepted, whatever the header says: a token cannot
// choose a weaker algorithm (or "none").
func Verify(token string, pub *ecdsa.PublicKey, claims any) error {
	h, p, err := parts(token)
	if err != nil {
		return err
	}
	if h.Alg != Algorithm {
		return fmt.Errorf("%w %q", ErrAlgorithm, h.Alg)
	}
	sig, err := b64.DecodeString(p[2])
	if err != nil {
		return fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	if len(sig) != 2*coordSize {
		return ErrBadSignature
	}
	digest := sha256.Sum256([]byte(p[0] + "." + p[1]))
	r, sv := new(big.Int).SetBytes(sig[:coordSize]), new(big.Int).SetBytes(sig[coordSize:])
	if !ecdsa.Verify(pub, digest[:], r, sv) {
		return ErrBadSignature
	}
	raw, err := b64.DecodeString(p[1])
	if err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(raw, claims); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return nil
}
