package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/internal/clustertls"
)

// TLSCommand is `roam tls`: a cluster CA and agent certificates for the
// tls block, written to the current directory under Nomad's file names
// (so `nomad tls` instructions carry over). It lives with the agent
// because the cli package speaks only the HTTP API.
func TLSCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tls", Short: "Create the CA and certificates of the agents' tls block"}
	ca := &cobra.Command{Use: "ca", Short: "Manage the cluster CA"}
	ca.AddCommand(tlsCACreateCommand())
	cert := &cobra.Command{Use: "cert", Short: "Manage agent certificates"}
	cert.AddCommand(tlsCertCreateCommand())
	cmd.AddCommand(ca, cert)
	return cmd
}

type tlsCAFlags struct {
	days           int
	domain         string
	commonName     string
	nameConstraint bool
}

func tlsCACreateCommand() *cobra.Command {
	f := &tlsCAFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a CA: <domain>-agent-ca.pem and <domain>-agent-ca-key.pem (ECDSA P-256)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pair, err := clustertls.NewCA(clustertls.CARequest{CommonName: f.commonName, Domain: f.domain,
				NameConstraint: f.nameConstraint, Validity: days(f.days)})
			if err != nil {
				return err
			}
			return writePair(cmd.OutOrStdout(), "CA", f.domain+"-agent-ca", pair)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.days, "days", 1825, "days the CA is valid for")
	fs.StringVar(&f.domain, "domain", "nomad", "domain of the certificates' names (<role>.<region>.<domain>)")
	fs.StringVar(&f.commonName, "common-name", "", "common name of the CA (default: roam Agent CA <serial>)")
	fs.BoolVar(&f.nameConstraint, "name-constraint", false, "limit the CA to names under -domain and localhost")
	return cmd
}

// certRole is the kind of certificate `roam tls cert create` makes.
type certRole string

const (
	certServer certRole = "server"
	certClient certRole = "client"
	certCLI    certRole = "cli"
)

type tlsCertFlags struct {
	server, client, cli bool
	ca, key             string
	days                int
	domain, region      string
	dnsNames, ips       []string
}

func tlsCertCreateCommand() *cobra.Command {
	f := &tlsCertFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a certificate: -server (server.<region>.<domain>), -client or -cli",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.region == "" {
				if r := cmd.Flag("region"); r != nil && r.Value.String() != "" {
					f.region = r.Value.String()
				} else {
					f.region = "global"
				}
			}
			return f.create(cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.server, "server", false, "a server's certificate")
	fs.BoolVar(&f.client, "client", false, "a client agent's certificate")
	fs.BoolVar(&f.cli, "cli", false, "a CLI user's certificate (verify_https_client)")
	fs.StringVar(&f.ca, "ca", "#DOMAIN#-agent-ca.pem", "the CA's certificate")
	fs.StringVar(&f.key, "key", "#DOMAIN#-agent-ca-key.pem", "the CA's key")
	fs.IntVar(&f.days, "days", 365, "days the certificate is valid for")
	fs.StringVar(&f.domain, "domain", "nomad", "domain of the names")
	fs.StringVar(&f.region, "cluster-region", "", "region of the names (default: -region, else global)")
	fs.StringSliceVar(&f.dnsNames, "additional-dnsname", nil, "another DNS name (repeatable)")
	fs.StringSliceVar(&f.ips, "additional-ipaddress", nil, "another IP address (repeatable)")
	return cmd
}

func (f *tlsCertFlags) role() (certRole, error) {
	var roles []certRole
	for _, r := range []struct {
		set  bool
		role certRole
	}{{f.server, certServer}, {f.client, certClient}, {f.cli, certCLI}} {
		if r.set {
			roles = append(roles, r.role)
		}
	}
	if len(roles) != 1 {
		return "", errors.New("give exactly one of -server, -client and -cli")
	}
	return roles[0], nil
}

func (f *tlsCertFlags) create(out io.Writer) error {
	role, err := f.role()
	if err != nil {
		return err
	}
	req, err := f.request(role)
	if err != nil {
		return err
	}
	var ca clustertls.PEMPair
	caFile, keyFile := strings.Replace(f.ca, "#DOMAIN#", f.domain, 1), strings.Replace(f.key, "#DOMAIN#", f.domain, 1)
	if ca.Cert, err = os.ReadFile(caFile); err != nil {
		return fmt.Errorf("-ca: %w", err)
	}
	if ca.Key, err = os.ReadFile(keyFile); err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	pair, err := clustertls.IssueCert(ca, req)
	if err != nil {
		return err
	}
	return writePair(out, string(role)+" certificate", f.region+"-"+string(role)+"-"+f.domain, pair)
}

// request is the certificate's names: <role>.<region>.<domain> first (the
// name roam and Nomad check), localhost, the extra names; servers and
// clients also 127.0.0.1, as Nomad's.
func (f *tlsCertFlags) request(role certRole) (clustertls.CertRequest, error) {
	req := clustertls.CertRequest{
		Names:    append([]string{string(role) + "." + f.region + "." + f.domain, "localhost"}, f.dnsNames...),
		Validity: days(f.days),
	}
	if role != certCLI {
		req.IPs = append(req.IPs, net.IPv4(127, 0, 0, 1))
	}
	for _, s := range f.ips {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return req, fmt.Errorf("-additional-ipaddress %q is not an IP address", s)
		}
		req.IPs = append(req.IPs, ip)
	}
	return req, nil
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// writePair writes <prefix>-key.pem (0600) and <prefix>.pem (0644),
// refusing to overwrite either. Each file is created by the open itself
// (O_EXCL), never through a symbolic link (O_NOFOLLOW): a check before the
// write would leave a window, and a dangling link would have the key
// written wherever it points.
func writePair(out io.Writer, what, prefix string, p clustertls.PEMPair) error {
	certFile, keyFile := prefix+".pem", prefix+"-key.pem"
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{keyFile, p.Key, 0o600},
		{certFile, p.Cert, 0o644},
	}
	var created []*os.File
	undo := func() {
		for _, f := range created {
			f.Close()
			os.Remove(f.Name())
		}
	}
	for _, f := range files {
		fh, err := createNew(f.name, f.mode)
		if err != nil {
			undo()
			return err
		}
		created = append(created, fh)
	}
	for i, f := range files {
		if _, err := created[i].Write(f.data); err != nil {
			undo()
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	for i, f := range files {
		if err := created[i].Close(); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	fmt.Fprintf(out, "==> %s saved to %s\n==> %s key saved to %s\n", what, certFile, what, keyFile)
	return nil
}

// createNew creates name, which must not exist, not even as a symbolic link.
func createNew(name string, mode os.FileMode) (*os.File, error) {
	fh, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, mode)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("%s already exists: move it away first", name)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s is a symbolic link: roam tls writes only new regular files; remove the link first", name)
	case err != nil:
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return fh, nil
}
