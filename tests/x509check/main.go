// x509check: what a Go relying party makes of our documents (tests/test_x509_go.py).
//
//	go run tests/x509check/main.go [-root root.der] -ca ca.der file...
//
// Each file (DER or PEM) is parsed with crypto/x509 as a certificate, or else as a CRL, and one line
// is printed per file: "<file>: ok <what>" or "<file>: <error>". A certificate that is not the root
// is then verified with the root as the only root and the issuing CA (-ca) as the only intermediate
// (without -root: the CA as the only root), any key usage (the EKUs are the profile's business, not
// chain building); a CRL's signature is checked against the CA, or else the root. Exit status 1 if
// any line is not ok. Standard library only, so nothing is downloaded.
package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
)

func der(data []byte) []byte {
	if block, _ := pem.Decode(data); block != nil {
		return block.Bytes
	}
	return data
}

func check(data []byte, root, ca *x509.Certificate) (string, error) {
	anchor, against := ca, "the CA"
	if root != nil {
		anchor, against = root, "the root"
	}
	cert, certErr := x509.ParseCertificate(data)
	if certErr == nil {
		if anchor == nil || bytes.Equal(cert.Raw, anchor.Raw) {
			return "certificate", nil
		}
		roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(anchor)
		if root != nil && ca != nil {
			intermediates.AddCert(ca)
		}
		chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		return fmt.Sprintf("certificate, verified against %s (chain of %d)", against, len(chains[0])), nil
	}
	list, crlErr := x509.ParseRevocationList(data)
	if crlErr != nil {
		return "", fmt.Errorf("certificate: %v; CRL: %v", certErr, crlErr)
	}
	signer := ""
	for _, candidate := range []struct {
		cert *x509.Certificate
		name string
	}{{ca, "the CA"}, {root, "the root"}} {
		if candidate.cert != nil && list.CheckSignatureFrom(candidate.cert) == nil {
			signer = candidate.name
			break
		}
	}
	if signer == "" && (ca != nil || root != nil) {
		return "", fmt.Errorf("CRL signature: signed by neither the CA nor the root")
	}
	if signer == "" {
		return fmt.Sprintf("CRL with %d entries", len(list.RevokedCertificates)), nil
	}
	return fmt.Sprintf("CRL with %d entries, signed by %s", len(list.RevokedCertificates), signer), nil
}

func load(name string) *x509.Certificate {
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	var cert *x509.Certificate
	if err == nil {
		cert, err = x509.ParseCertificate(der(data))
	}
	if err != nil {
		fmt.Printf("%s: %v\n", name, err)
		os.Exit(1)
	}
	return cert
}

func main() {
	rootFile := flag.String("root", "", "the root CA certificate (DER or PEM): the only root to verify against")
	caFile := flag.String("ca", "", "the issuing CA certificate (DER or PEM): the only intermediate (the root without -root)")
	flag.Parse()
	root, ca := load(*rootFile), load(*caFile)
	failed := false
	for _, name := range flag.Args() {
		data, err := os.ReadFile(name)
		what := ""
		if err == nil {
			what, err = check(der(data), root, ca)
		}
		if err != nil {
			failed = true
			fmt.Printf("%s: %v\n", name, err)
		} else {
			fmt.Printf("%s: ok %s\n", name, what)
		}
	}
	if failed {
		os.Exit(1)
	}
}
