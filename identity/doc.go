// Package identity signs and verifies workload identities: compact JWS
// tokens (JWTs) signed with ES256 (ECDSA P-256), and the JSON Web Key Set
// that publishes the public keys. docs/identity.md says why ES256.
//
// It is pure crypto and encoding, with no state of its own: the server keeps
// the keys in its Raft-replicated keyring (state/keyring.go) and decides what
// a valid identity is (server/identity.go: the key exists, the allocation the
// token names is still running). Tokens are small and parsed by hand rather
// than with a JWT library so that the only algorithm ever accepted is the one
// roam signs with; the tests verify roam's tokens with an independent
// library (go-jose) to prove ordinary consumers accept them.
//
// Map of the package:
//
//	keys.go   GenerateKey, ParsePrivateKey, public key encoding
//	jwt.go    Sign, Verify, KeyID (header inspection before lookup)
//	jwks.go   JWK and JWKS, the shapes of /.well-known/jwks.json
package identity
