package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Config holds the CA's lifetimes (Consul's built-in provider's defaults).
type Config struct {
	LeafTTL         time.Duration
	IntermediateTTL time.Duration
	RootTTL         time.Duration
}

// DefaultConfig: leaves 72 h, intermediates a year, roots ten years.
func DefaultConfig() Config {
	return Config{LeafTTL: 72 * time.Hour, IntermediateTTL: 8760 * time.Hour, RootTTL: 87600 * time.Hour}
}

// backdate covers clocks that run a little behind the signer's.
const backdate = time.Minute

// NewRoot creates a self-signed ECDSA P-256 root and the intermediate that
// signs leaves under it. Everything is generated here, with crypto/x509 and
// crypto/rand, by the leader; the result is replicated as is.
func NewRoot(trustDomain string, now time.Time, cfg Config) (*structs.CARoot, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate root key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("roam CA Root Cert %d", serial.Uint64()%100000)
	tmpl := caTemplate(serial, name, trustDomain, now.Add(-backdate), now.Add(cfg.RootTTL))
	rootDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("create root certificate: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("parse root certificate: %w", err)
	}
	interPEM, interKeyPEM, interCert, err := newIntermediate(rootCert, rootKey, trustDomain, now, cfg)
	if err != nil {
		return nil, err
	}
	rootKeyPEM, err := keyPEM(rootKey)
	if err != nil {
		return nil, err
	}
	return &structs.CARoot{
		ID: Fingerprint(rootDER), Name: name, SerialNumber: serial.Uint64(),
		SigningKeyID: colonHex(interCert.SubjectKeyId), TrustDomain: trustDomain,
		NotBefore: rootCert.NotBefore, NotAfter: rootCert.NotAfter,
		RootCert: certPEM(rootDER), IntermediateCerts: []string{interPEM},
		PrivateKeyType: "ec", PrivateKeyBits: 256,
		RootKey: rootKeyPEM, SigningKey: interKeyPEM, SigningCert: interPEM,
	}, nil
}

func caTemplate(serial *big.Int, cn, trustDomain string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"roam"}},
		URIs:      []*url.URL{SigningURI(trustDomain)},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
}

// newIntermediate signs a fresh intermediate under root. It may sign
// leaves only (path length 0) and lives no longer than its root.
func newIntermediate(root *x509.Certificate, rootKey crypto.Signer, trustDomain string, now time.Time, cfg Config) (string, string, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, fmt.Errorf("generate intermediate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return "", "", nil, err
	}
	notAfter := now.Add(cfg.IntermediateTTL)
	if notAfter.After(root.NotAfter) {
		notAfter = root.NotAfter
	}
	tmpl := caTemplate(serial, fmt.Sprintf("roam CA Intermediate Cert %d", serial.Uint64()%100000), trustDomain, now.Add(-backdate), notAfter)
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		return "", "", nil, fmt.Errorf("create intermediate certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, fmt.Errorf("parse intermediate certificate: %w", err)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return "", "", nil, err
	}
	return certPEM(der), kp, c, nil
}

// CrossSign makes the new root trusted by peers that trust only the old
// one: a certificate for the new root's subject and key, issued by the old
// root, joins the new root's intermediates, so every leaf signed under the
// new root carries a chain to the old root as well. Old leaves stay valid
// for peers that trust the new root because the old root stays in the
// trust bundle until it expires.
func CrossSign(oldRoot, newRoot *structs.CARoot, now time.Time) error {
	oldCert, err := ParseCertPEM(oldRoot.RootCert)
	if err != nil {
		return fmt.Errorf("cross-sign: old root: %w", err)
	}
	oldKey, err := ParseKeyPEM(oldRoot.RootKey)
	if err != nil {
		return fmt.Errorf("cross-sign: old root key: %w", err)
	}
	newCert, err := ParseCertPEM(newRoot.RootCert)
	if err != nil {
		return fmt.Errorf("cross-sign: new root: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: newCert.Subject, SubjectKeyId: newCert.SubjectKeyId,
		URIs: newCert.URIs, NotBefore: now.Add(-backdate), NotAfter: minTime(newCert.NotAfter, oldCert.NotAfter),
		KeyUsage: newCert.KeyUsage, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, oldCert, newCert.PublicKey, oldKey)
	if err != nil {
		return fmt.Errorf("cross-sign: create certificate: %w", err)
	}
	newRoot.IntermediateCerts = append(newRoot.IntermediateCerts, certPEM(der))
	return nil
}

// Sign issues a leaf for id from a CSR made where the key lives. Only the
// CSR's public key is used: the identity (URI SAN, common name) comes from
// id, which the caller has authorised, never from the CSR. The result is
// the leaf followed by the root's intermediates.
func Sign(root *structs.CARoot, csrPEM string, id ServiceID, ttl time.Duration, now time.Time) (*structs.IssuedCert, error) {
	csr, err := parseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	signer, err := ParseCertPEM(root.SigningCert)
	if err != nil {
		return nil, fmt.Errorf("sign: signing certificate: %w", err)
	}
	key, err := ParseKeyPEM(root.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("sign: signing key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := minTime(now.Add(ttl), signer.NotAfter)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: commonName(id.Service)},
		URIs:      []*url.URL{id.URI()},
		NotBefore: now.Add(-backdate), NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, csr.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign: create certificate: %w", err)
	}
	chain := certPEM(der) + strings.Join(root.IntermediateCerts, "")
	return &structs.IssuedCert{
		SerialNumber: colonHex(serial.Bytes()), CertPEM: chain, Service: id.Service,
		ServiceURI: id.String(), ValidAfter: tmpl.NotBefore, ValidBefore: notAfter, RootID: root.ID,
	}, nil
}

// maxCSRBytes bounds what a client may make the server parse.
const maxCSRBytes = 8 << 10

func parseCSR(s string) (*x509.CertificateRequest, error) {
	if len(s) > maxCSRBytes {
		return nil, fmt.Errorf("sign: CSR larger than %d bytes", maxCSRBytes)
	}
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("sign: CSR is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sign: parse CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign: CSR signature: %w", err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("sign: CSR key must be ECDSA P-256")
	}
	return csr, nil
}

// commonName keeps a service name within X.509's 64-byte CN limit.
func commonName(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// Fingerprint is the colon-hex SHA-1 of a certificate's DER, a root's ID.
func Fingerprint(der []byte) string {
	sum := sha1.Sum(der)
	return colonHex(sum[:])
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

func certPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func keyPEM(k *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("marshal key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParseCertPEM parses the first certificate of a PEM text.
func ParseCertPEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// ParseCertsPEM parses every certificate of a PEM text, in order.
func ParseCertsPEM(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// ParseKeyPEM parses a PKCS#8 private key.
func ParseKeyPEM(s string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	sk, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return sk, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
