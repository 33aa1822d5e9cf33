package ksign

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// KsherV1PublicKeyPEM is Ksher's published 512-bit "V1" response-signing
// public key (PKCS#1), as shipped in every official SDK
// (ksher_sdk_nodejs src/ksher_pubkey.pem). Responses are signed with it
// unless a request asks for sign version V2 (API.md C.1.5).
const KsherV1PublicKeyPEM = `-----BEGIN RSA PUBLIC KEY-----
MEgCQQC+/eeTgrjeCPHmDS/5osWViFyIAryFRIr5canaYhz3Di3UNkT0sf6TkabF
LvxPcM9JmEtj2O4TXNpgYATkE/sFAgMBAAE=
-----END RSA PUBLIC KEY-----
`

// DecodeObject decodes a JSON object with json.Decoder.UseNumber, so that
// numbers keep their exact text for signing, and rejects trailing data.
func DecodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("ksign: JSON value is not an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("ksign: trailing data after JSON object")
	}
	return m, nil
}
