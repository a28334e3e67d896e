package clustertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// PEMPair is a certificate and its private key, PEM-encoded.
type PEMPair struct {
	Cert []byte
	Key  []byte
}

// CARequest describes a cluster CA.
type CARequest struct {
	// CommonName defaults to "roam Agent CA <serial>".
	CommonName string
	// Domain is the names' last label ("nomad"); the CA is constrained to
	// it when NameConstraint is set.
	Domain         string
	NameConstraint bool
	Validity       time.Duration
}

// NewCA makes a self-signed ECDSA P-256 CA certificate.
func NewCA(req CARequest) (PEMPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return PEMPair{}, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return PEMPair{}, err
	}
	if req.CommonName == "" {
		req.CommonName = "roam Agent CA " + serial.Text(16)[:8]
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.CommonName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(req.Validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	if req.NameConstraint {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = []string{req.Domain, "localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return PEMPair{}, fmt.Errorf("sign CA certificate: %w", err)
	}
	return encodePair(der, key)
}

// CertRequest describes an agent certificate.
type CertRequest struct {
	// Names are the DNS names (server.global.nomad, localhost, ...).
	Names    []string
	IPs      []net.IP
	Validity time.Duration
}

// IssueCert signs an ECDSA P-256 certificate for req with the CA in ca.
// It is good for both ends of a connection: servers dial each other.
func IssueCert(ca PEMPair, req CertRequest) (PEMPair, error) {
	caCert, caKey, err := parsePair(ca)
	if err != nil {
		return PEMPair{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return PEMPair{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return PEMPair{}, err
	}
	cn := "roam agent"
	if len(req.Names) > 0 {
		cn = req.Names[0]
	}
	now := time.Now()
	notAfter := now.Add(req.Validity)
	if notAfter.After(caCert.NotAfter) {
		notAfter = caCert.NotAfter // a certificate cannot outlive its CA
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: cn},
		NotBefore:      now.Add(-time.Minute),
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:       req.Names,
		IPAddresses:    req.IPs,
		SubjectKeyId:   keyID(&key.PublicKey),
		AuthorityKeyId: caCert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return PEMPair{}, fmt.Errorf("sign certificate: %w", err)
	}
	return encodePair(der, key)
}

func parsePair(p PEMPair) (*x509.Certificate, any, error) {
	cb, _ := pem.Decode(p.Cert)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("CA certificate: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("CA certificate %q is not a CA", cert.Subject.CommonName)
	}
	kb, _ := pem.Decode(p.Key)
	if kb == nil {
		return nil, nil, fmt.Errorf("CA key: no PEM key")
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	return cert, key, nil
}

func parseKey(b *pem.Block) (any, error) {
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	return x509.ParsePKCS8PrivateKey(b.Bytes)
}

func encodePair(der []byte, key *ecdsa.PrivateKey) (PEMPair, error) {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return PEMPair{}, fmt.Errorf("encode key: %w", err)
	}
	return PEMPair{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

// newSerial is a random 128-bit serial number (RFC 5280 asks for at most
// 20 octets, unpredictable).
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// keyID is the SHA-256 of the public key, cut to 20 bytes.
func keyID(pub *ecdsa.PublicKey) []byte {
	b, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(b)
	return sum[:20]
}
