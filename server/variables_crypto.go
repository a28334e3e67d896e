package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// Variables are sealed with a data key derived from a key of the identity
// keyring, so the servers replicate it without a second keyring: each root
// key's private material (already in every server's Raft state and never
// on the API) is the HKDF-SHA256 input, with an info string naming this
// use, which separates the data key from the signing key. A variable names
// the root key it was sealed under (KeyID); the keyring keeps a key while a
// variable needs it (keysInUse), so rotation never strands a ciphertext.
const variableKeyInfo = "roam variables data key v1"

// variableAEAD returns the AES-256-GCM cipher of a root key.
func (k *keyring) variableAEAD(rk *structs.RootKey) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, rk.PrivateKey, []byte(rk.KeyID), variableKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive variable key from %s: %w", rk.KeyID, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("variable cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// variableAAD binds a ciphertext to its namespace and path: sealed items
// copied under another path (in a restored or tampered snapshot) fail to
// open instead of being served as that path's items.
func variableAAD(ns, path string) []byte { return []byte(ns + "\x00" + path) }

// sealVariable encrypts items under the active key (on the leader, before
// the entry is proposed: apply code stays free of randomness).
func (k *keyring) sealVariable(ns, path string, items structs.VariableItems) (keyID string, nonce, ct []byte, err error) {
	rk, _, err := k.signer()
	if err != nil {
		return "", nil, nil, err
	}
	aead, err := k.variableAEAD(rk)
	if err != nil {
		return "", nil, nil, err
	}
	plain, err := json.Marshal(items)
	if err != nil {
		return "", nil, nil, fmt.Errorf("encode variable items: %w", err)
	}
	nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, nil, fmt.Errorf("variable nonce: %w", err)
	}
	return rk.KeyID, nonce, aead.Seal(nil, nonce, plain, variableAAD(ns, path)), nil
}

// openVariable decrypts a stored variable; only reads call it.
func (k *keyring) openVariable(v *structs.VariableEncrypted) (*structs.VariableDecrypted, error) {
	out := &structs.VariableDecrypted{VariableMetadata: v.VariableMetadata, Items: structs.VariableItems{}}
	if v.KeyID == "" {
		return out, nil // a lock without items
	}
	rk, err := k.srv.state.RootKeyByID(nil, v.KeyID)
	if err != nil {
		return nil, err
	}
	if rk == nil {
		return nil, fmt.Errorf("variable %s: its key %s is gone from the keyring", v.Path, v.KeyID)
	}
	aead, err := k.variableAEAD(rk)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, v.Nonce, v.Ciphertext, variableAAD(v.Namespace, v.Path))
	if err != nil {
		return nil, fmt.Errorf("variable %s: decrypt: %w", v.Path, err)
	}
	if err := json.Unmarshal(plain, &out.Items); err != nil {
		return nil, fmt.Errorf("variable %s: decode items: %w", v.Path, err)
	}
	return out, nil
}
