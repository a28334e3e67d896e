package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/structs"
)

// jwks: GET /.well-known/jwks.json. The public keys that verify workload
// identities, active and inactive (a token signed before a rotation must
// still verify), in JWKS form for any JWT library. No ACL, as Nomad's; any
// server answers from its own replicated keyring.
func (h *handlers) jwks(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.KeyringListRequest{}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.AllowStale = true
	var out structs.KeyringPublicKeysResponse
	if err := h.rpc.RPC(structs.MethodKeyringPublicKeys, &args, &out); err != nil {
		return nil, err
	}
	set := identity.JWKS{Keys: []identity.JWK{}}
	for _, k := range out.PublicKeys {
		pub, err := identity.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.KeyID, err)
		}
		set.Keys = append(set.Keys, identity.NewJWK(k.KeyID, pub))
	}
	setQueryMeta(w, &out.QueryMeta)
	// Verifiers cache the set; a short max-age bounds how long one misses a
	// key after a rotation.
	w.Header().Set("Cache-Control", "max-age=60")
	return set, nil
}

// keyringList: GET /v1/operator/keyring/keys. Metadata only; key material
// never leaves the servers.
func (h *handlers) keyringList(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.KeyringListRequest{}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.KeyringListResponse
	if err := h.rpc.RPC(structs.MethodKeyringList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Keys), nil
}

// keyringRotateResponse is the body of a rotation, Nomad's shape.
type keyringRotateResponse struct {
	Key *structs.RootKeyMeta
}

// keyringRotate: PUT/POST /v1/operator/keyring/rotate. The new key signs
// from now on; the old one stays for verification.
func (h *handlers) keyringRotate(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.KeyringRotateRequest{}
	parseWrite(r, &args.WriteRequest)
	var out structs.KeyringRotateResponse
	if err := h.rpc.RPC(structs.MethodKeyringRotate, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return keyringRotateResponse{Key: out.Key}, nil
}

// oidcDiscovery is an OpenID Provider Configuration document, the fields a
// relying party needs to verify roam's workload identities.
type oidcDiscovery struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
}

// openidConfiguration: GET /.well-known/openid-configuration. Served only
// when the servers have an oidc_issuer: the document promises an issuer,
// and tokens name it in "iss" only then.
func (h *handlers) openidConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	var out structs.KeyringOIDCDiscoveryResponse
	if err := h.rpc.RPC(structs.MethodKeyringOIDCDiscovery, &structs.KeyringListRequest{}, &out); err != nil {
		return nil, err
	}
	if out.Issuer == "" {
		return nil, &httpError{code: http.StatusNotFound, msg: "OIDC discovery is off: the servers have no oidc_issuer"}
	}
	issuer := strings.TrimSuffix(out.Issuer, "/")
	return oidcDiscovery{
		Issuer: out.Issuer, JWKSURI: issuer + "/.well-known/jwks.json",
		SigningAlgs:   []string{identity.Algorithm},
		ResponseTypes: []string{"code"}, SubjectTypes: []string{"public"},
	}, nil
}
