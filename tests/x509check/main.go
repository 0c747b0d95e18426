// x509check: what a Go relying party makes of our documents (tests/test_x509_go.py).
//
//	go run tests/x509check/main.go -ca ca.der file...
//
// Each file (DER or PEM) is parsed with crypto/x509 as a certificate, or else as a CRL, and one line
// is printed per file: "<file>: ok <what>" or "<file>: <error>". A certificate that is not the CA is
// then verified against the CA as the only root (any key usage: the EKUs are the profile's business,
// not chain building), and a CRL's signature is checked against the CA. Exit status 1 if any line
// is not ok. Standard library only, so nothing is downloaded.
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

func check(data []byte, ca *x509.Certificate) (string, error) {
	cert, certErr := x509.ParseCertificate(data)
	if certErr == nil {
		if ca == nil || bytes.Equal(cert.Raw, ca.Raw) {
			return "certificate", nil
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		return "certificate, verified against the CA", nil
	}
	list, crlErr := x509.ParseRevocationList(data)
	if crlErr != nil {
		return "", fmt.Errorf("certificate: %v; CRL: %v", certErr, crlErr)
	}
	if ca != nil {
		if err := list.CheckSignatureFrom(ca); err != nil {
			return "", fmt.Errorf("CRL signature: %w", err)
		}
	}
	return fmt.Sprintf("CRL with %d entries", len(list.RevokedCertificates)), nil
}

func main() {
	caFile := flag.String("ca", "", "the CA certificate (DER or PEM): the root to verify against")
	flag.Parse()
	var ca *x509.Certificate
	if *caFile != "" {
		data, err := os.ReadFile(*caFile)
		if err == nil {
			ca, err = x509.ParseCertificate(der(data))
		}
		if err != nil {
			fmt.Printf("%s: %v\n", *caFile, err)
			os.Exit(1)
		}
	}
	failed := false
	for _, name := range flag.Args() {
		data, err := os.ReadFile(name)
		what := ""
		if err == nil {
			what, err = check(der(data), ca)
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
