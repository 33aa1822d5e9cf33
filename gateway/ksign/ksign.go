// Package ksign holds the signing primitives of Ksher's two payment APIs:
// RSA-MD5 signatures of the v3 "KsherPay" API (api.mch.ksher.net,
// gateway.ksher.com) and HMAC-SHA256 signatures of the legacy
// "Payment API Gateway" (*.vip.ksher.net).
//
// The package is pure (no I/O) and uses the standard library only, so both
// the gateway client and the built-in sandbox sign and verify with exactly
// the same code.
//
// Field maps passed to the functions below may hold the values a JSON
// decoder with UseNumber produces, plus a few Go types that requests use:
// string, json.Number, int, int64, bool, nil, []any, []map[string]any and
// map[string]any.
//
// # Small RSA keys
//
// Ksher's published response key (V1) is a 512-bit RSA key and merchant keys
// issued by the Ksher portal are often 512 or 1024 bits. Since Go 1.24
// crypto/rsa refuses keys below 1024 bits unless the main module sets
// "godebug rsa1024min=0" in go.mod (ksherdash does). V3Verify does not need
// that setting: for keys below 1024 bits it checks the PKCS#1 v1.5 encoding
// itself (a public-key operation, no secrets involved). V3Sign with a
// merchant key below 1024 bits still needs the godebug setting, because
// signing by hand would not be constant-time.
package ksign

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadSignature is returned (possibly wrapped) whenever a signature does
// not match the signed data.
var ErrBadSignature = errors.New("ksign: signature mismatch")

// V3StringToSign builds the v3 string to sign (API.md C.1.1): one
// "key=value" piece per field except "sign" (empty values kept), the pieces
// sorted as byte strings and joined with nothing.
//
// Values are rendered as follows: strings raw (UTF-8, no escaping);
// integers and json.Number as their decimal text; arrays as compact JSON
// with the keys of every object sorted and no HTML escaping (verified on a
// Ksher-signed refund_query response).
//
// UNCONFIRMED renderings (no Ksher-signed sample contains them), chosen to
// match the official Node SDK (ksher_sdk_nodejs src/unity.js), which is the
// SDK that verifies every public sample: booleans as "true"/"false", nil as
// "null", and a nested object as the compact JSON list of its sorted keys.
// Ksher itself avoids signing nested objects (see V3ResponseSubset).
func V3StringToSign(fields map[string]any) (string, error) {
	pieces := make([]string, 0, len(fields))
	for k, v := range fields {
		if k == "sign" {
			continue
		}
		s, err := v3Text(v)
		if err != nil {
			return "", fmt.Errorf("ksign: field %q: %w", k, err)
		}
		pieces = append(pieces, k+"="+s)
	}
	slices.Sort(pieces)
	return strings.Join(pieces, ""), nil
}

func v3Text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return jsFloat(x)
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "null", nil
	case []any, []map[string]any, []string:
		var b bytes.Buffer
		if err := writeJSON(&b, x); err != nil {
			return "", err
		}
		return b.String(), nil
	case map[string]any:
		// Node SDK behaviour: JSON list of the sorted keys (UNCONFIRMED).
		keys := make([]any, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			keys = append(keys, k)
		}
		var b bytes.Buffer
		if err := writeJSON(&b, keys); err != nil {
			return "", err
		}
		return b.String(), nil
	default:
		return "", fmt.Errorf("unsupported value type %T", v)
	}
}

// jsFloat renders a float the way JavaScript's String(n) does for the
// common cases (integral values without ".0").
func jsFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", errors.New("non-finite number")
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// writeJSON writes v as compact JSON with sorted object keys and without
// HTML escaping, the way JSON.stringify (and Python json.dumps with
// ensure_ascii=False) would: non-ASCII characters raw, control characters
// as \uXXXX (lower-case hex) except \b \f \n \r \t.
func writeJSON(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []map[string]any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, x)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	default:
		s, err := v3Text(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// V3Sign signs fields (API.md C.1.2): RSA PKCS#1 v1.5 over the MD5 digest
// of V3StringToSign(fields), returned as lower-case hex. A "sign" field in
// fields is ignored.
func V3Sign(key *rsa.PrivateKey, fields map[string]any) (string, error) {
	if key == nil {
		return "", errors.New("ksign: nil private key")
	}
	s, err := V3StringToSign(fields)
	if err != nil {
		return "", err
	}
	sum := md5.Sum([]byte(s))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.MD5, sum[:])
	if err != nil {
		if key.N != nil && key.N.BitLen() < 1024 {
			return "", fmt.Errorf("ksign: signing with a %d-bit key needs `godebug rsa1024min=0` in the main module's go.mod: %w", key.N.BitLen(), err)
		}
		return "", fmt.Errorf("ksign: sign: %w", err)
	}
	return hex.EncodeToString(sig), nil
}

// V3Verify checks a v3 signature (hex, any case) over fields with Ksher's
// public key (or, in the sandbox, a merchant's). It returns an error
// wrapping ErrBadSignature when the signature does not match.
func V3Verify(pub *rsa.PublicKey, fields map[string]any, sign string) error {
	if pub == nil || pub.N == nil {
		return errors.New("ksign: nil public key")
	}
	sig, err := hex.DecodeString(strings.TrimSpace(sign))
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: sign is not hex", ErrBadSignature)
	}
	s, err := V3StringToSign(fields)
	if err != nil {
		return err
	}
	sum := md5.Sum([]byte(s))
	if pub.N.BitLen() < 1024 {
		// crypto/rsa refuses small keys unless rsa1024min=0 is set; the check
		// below is the textbook EMSA-PKCS1-v1_5 comparison (RFC 8017 §8.2.2).
		if !verifySmallKey(pub, sum[:], sig) {
			return ErrBadSignature
		}
		return nil
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.MD5, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// md5DigestInfo is the DER prefix of an MD5 DigestInfo (RFC 8017 §9.2).
var md5DigestInfo = []byte{0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10}

func verifySmallKey(pub *rsa.PublicKey, digest, sig []byte) bool {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k || pub.E < 2 {
		return false
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return false
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	em := m.FillBytes(make([]byte, k))
	tLen := len(md5DigestInfo) + len(digest)
	if k < tLen+11 {
		return false
	}
	want := make([]byte, k)
	want[0], want[1] = 0x00, 0x01
	for i := 2; i < k-tLen-1; i++ {
		want[i] = 0xff
	}
	want[k-tLen-1] = 0x00
	copy(want[k-tLen:], md5DigestInfo)
	copy(want[k-len(digest):], digest)
	return subtle.ConstantTimeCompare(em, want) == 1
}

// Fields of data that Ksher signs in responses of the operations that do
// not sign the whole data object (API.md C.1.4).
var (
	merchantInfoFields   = []string{"mobile", "mch_id", "account_type", "business_mode", "nonce_str"}
	settlementInfoFields = []string{"begin_date", "end_date", "nonce_str"}
)

// V3ResponseSubset returns the part of a v3 response's data object that
// Ksher signs for operation (API.md C.1.4): five fields for
// "merchant_info", three for "get_settlement_info", and data itself for
// every other operation. Missing fields are left out of the subset.
func V3ResponseSubset(operation string, data map[string]any) map[string]any {
	var names []string
	switch operation {
	case "merchant_info":
		names = merchantInfoFields
	case "get_settlement_info":
		names = settlementInfoFields
	default:
		return data
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := data[n]; ok {
			out[n] = v
		}
	}
	return out
}

// ParsePrivateKey parses a PEM RSA private key in PKCS#1 ("RSA PRIVATE
// KEY", the Ksher portal's format) or PKCS#8 ("PRIVATE KEY") form.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("ksign: no PEM block in private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// The x509 error text never contains key material.
		return nil, fmt.Errorf("ksign: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ksign: private key is %T, not RSA", k)
	}
	return rk, nil
}

// ParsePublicKey parses a PEM RSA public key in PKCS#1 ("RSA PUBLIC KEY")
// or X.509 SubjectPublicKeyInfo ("PUBLIC KEY") form.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("ksign: no PEM block in public key")
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ksign: parse public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ksign: public key is %T, not RSA", k)
	}
	return rk, nil
}

// VIPStringToSign builds the string to sign of the *.vip.ksher.net gateway
// (API.md C.2): prefix (the request path as sent, or the full webhook URL)
// followed by name+value for every field in byte order of the names, with
// no separators. "signature" and "log_entry_url" are never part of it
// (requests never carry log_entry_url; responses exclude it).
//
// Values are rendered the way the Python server does (str()): strings raw,
// integers and json.Number as their text, booleans "True"/"False", nil
// "None" (UNCONFIRMED, no sample). Nested values (finance reports' data
// object) are rendered like Python's str() of a dict/list (UNCONFIRMED, see
// API.md B.4.4).
func VIPStringToSign(prefix string, fields map[string]any) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		if k == "signature" || k == "log_entry_url" {
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(prefix)
	for _, k := range names {
		b.WriteString(k)
		b.WriteString(pyText(fields[k]))
	}
	return b.String()
}

// pyText renders a value like Python's str().
func pyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		// Python prints integral floats as "1.0" (UNCONFIRMED: callers send ints).
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	case map[string]any, []any, []map[string]any, []string:
		var b strings.Builder
		pyRepr(&b, x)
		return b.String()
	default:
		return fmt.Sprint(x)
	}
}

// pyRepr writes Python's repr() of a JSON-decoded value (dicts keep the
// given order in Python; Go maps have none, so keys are sorted).
func pyRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		b.WriteString(pyQuote(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k))
			b.WriteString(": ")
			pyRepr(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e)
		}
		b.WriteByte(']')
	case []map[string]any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(e))
		}
		b.WriteByte(']')
	default:
		b.WriteString(pyText(x))
	}
}

// pyQuote approximates Python's repr() of a str: single quotes unless the
// text contains a single quote and no double quote.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// VIPSign returns the gateway signature of fields: HMAC-SHA256 keyed with
// token over VIPStringToSign(prefix, fields), as upper-case hex.
func VIPSign(token, prefix string, fields map[string]any) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(VIPStringToSign(prefix, fields)))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// VIPVerify checks a gateway signature (hex, any case) over fields with
// prefix, comparing in constant time. It returns ErrBadSignature when the
// signature does not match.
func VIPVerify(token, prefix string, fields map[string]any, sig string) error {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(VIPStringToSign(prefix, fields)))
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
