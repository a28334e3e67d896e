package identity

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

type claims struct {
	Task string `json:"nomad_task"`
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, der, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKey(der)
	if err != nil || !back.Equal(k) {
		t.Fatalf("PKCS #8 round trip: %v", err)
	}
	return k
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := mustKey(t)
	tok, err := Sign(k, "kid-1", claims{Task: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeToken(tok) {
		t.Fatalf("%q does not look like a token", tok)
	}
	if kid, err := KeyID(tok); err != nil || kid != "kid-1" {
		t.Fatalf("KeyID = %q, %v", kid, err)
	}
	var c claims
	if err := Verify(tok, &k.PublicKey, &c); err != nil || c.Task != "web" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	der, err := MarshalPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := ParsePublicKey(der); err != nil || !pub.Equal(&k.PublicKey) {
		t.Fatalf("public key round trip: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	k, other := mustKey(t), mustKey(t)
	tok, err := Sign(k, "kid-1", claims{Task: "web"})
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for name, tc := range map[string]struct {
		token string
		key   *ecdsa.PublicKey
		want  error
	}{
		"another key":          {tok, &other.PublicKey, ErrBadSignature},
		"changed claims":       {p[0] + "." + enc([]byte(`{"nomad_task":"db"}`)) + "." + p[2], &k.PublicKey, ErrBadSignature},
		"alg none":             {enc([]byte(`{"alg":"none","kid":"kid-1"}`)) + "." + p[1] + ".", &k.PublicKey, ErrAlgorithm},
		"alg HS256":            {enc([]byte(`{"alg":"HS256","kid":"kid-1"}`)) + "." + p[1] + "." + p[2], &k.PublicKey, ErrAlgorithm},
		"truncated":            {p[0] + "." + p[1], &k.PublicKey, ErrMalformed},
		"short signature":      {p[0] + "." + p[1] + "." + enc([]byte("x")), &k.PublicKey, ErrBadSignature},
		"header not json":      {enc([]byte("nope")) + "." + p[1] + "." + p[2], &k.PublicKey, ErrMalformed},
		"signature base64":     {p[0] + "." + p[1] + ".!!!", &k.PublicKey, ErrMalformed},
		"signature re-spelled": {p[0] + "." + p[1] + "." + respell(p[2]), &k.PublicKey, ErrMalformed},
	} {
		var c claims
		if err := Verify(tc.token, tc.key, &c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestJWKCoordinatesArePadded(t *testing.T) {
	k := mustKey(t)
	j := NewJWK("kid-1", &k.PublicKey)
	for _, c := range []string{j.X, j.Y} {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) != 32 {
			t.Fatalf("coordinate %q: %d bytes, %v", c, len(b), err)
		}
	}
	if j.KeyType != "EC" || j.Curve != "P-256" || j.Algorithm != "ES256" || j.Use != "sig" {
		t.Fatalf("JWK %+v", j)
	}
}

// respell changes the unused low bits of an unpadded base64 string's last
// character: lenient decoders read the same bytes from it.
func respell(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}
