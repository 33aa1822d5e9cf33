package ksign_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// signedV3 is a v3 vector whose signature is genuine: the only thing a
// verifier may accept for its key is its string to sign with its signature.
type signedV3 struct {
	pub    *rsa.PublicKey
	fields map[string]any
	text   string // V3StringToSign(fields)
	sig    []byte
	sign   string
}

// v3Signed gathers every genuinely signed v3 vector, over the three key
// sizes and so both verify paths: merchant requests (1024-bit, crypto/rsa),
// sandbox responses (2048-bit) and Ksher's public samples (512-bit, the
// hand-written PKCS#1 check).
func v3Signed(tb testing.TB) []signedV3 {
	var v vectorFile
	MustLoadJSON(tb, "vectors.json", &v)
	var out []signedV3
	add := func(pub *rsa.PublicKey, fields map[string]any, sign string) {
		text, err := ksign.V3StringToSign(fields)
		if err != nil {
			tb.Fatal(err)
		}
		sig, err := hex.DecodeString(sign)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, signedV3{pub, fields, text, sig, sign})
	}
	mch, ksim, v1 := MustPublicKey(tb, "mch_pub_pkcs1.pem"), MustPublicKey(tb, "ksim_pub_pkcs1.pem"), MustPublicKey(tb, "ksher_v1_pub_pkcs1.pem")
	for _, r := range v.V3 {
		if r.Params != nil {
			add(mch, r.Params, r.Sign)
		} else if data, ok := r.Body["data"].(map[string]any); ok {
			add(ksim, data, r.Body["sign"].(string))
		}
	}
	for _, s := range v.PublicSamples {
		add(v1, s.Data, s.Sign)
	}
	if len(out) < 6 {
		tb.Fatalf("only %d signed v3 vectors", len(out))
	}
	return out
}

// FuzzV3Verify changes one field of a genuinely signed vector (or drops
// it) and presents any signature text. V3Verify must accept exactly when
// the string to sign and the signature bytes are the vector's own: a
// mutated body or signature never verifies, the genuine pair always does.
func FuzzV3Verify(f *testing.F) {
	vecs := v3Signed(f)
	for i, v := range vecs {
		n := uint8(i)
		f.Add(n, "", "", false, v.sign)
		f.Add(n, "", "", false, " "+strings.ToUpper(v.sign)+"\n")
		f.Add(n, "total_fee", "101", false, v.sign)
		f.Add(n, "nonce_str", "", true, v.sign)
		f.Add(n, "", "", false, "00"+v.sign)
		f.Add(n, "", "", false, v.sign[:len(v.sign)-2])
		f.Add(n, "", "", false, flipHex(v.sign, len(v.sign)/2))
	}
	f.Fuzz(func(t *testing.T, n uint8, key, value string, drop bool, sign string) {
		v := vecs[int(n)%len(vecs)]
		fields := maps.Clone(v.fields)
		if key != "" {
			if drop {
				delete(fields, key)
			} else {
				fields[key] = value
			}
		}
		err := ksign.V3Verify(v.pub, fields, sign)
		text, terr := ksign.V3StringToSign(fields)
		sig, herr := hex.DecodeString(strings.TrimSpace(sign))
		genuine := terr == nil && herr == nil && text == v.text && bytes.Equal(sig, v.sig)
		switch {
		case genuine && err != nil:
			t.Fatalf("genuine signature refused: %v", err)
		case !genuine && err == nil:
			t.Fatalf("accepted a signature it was not given: fields %q, sign %q", text, sign)
		case err != nil && !errors.Is(err, ksign.ErrBadSignature):
			t.Fatalf("refusal %v does not wrap ErrBadSignature", err)
		}
	})
}

// FuzzVIPVerify does the same for the vip HMAC over the published
// vectors (the prefix may be changed too), and checks that whatever
// VIPSign produces for any token, prefix and fields verifies, in either
// case, and no longer verifies with another token.
func FuzzVIPVerify(f *testing.F) {
	var v vectorFile
	MustLoadJSON(f, "vectors.json", &v)
	type signed struct {
		token, path, text string
		fields            map[string]any
		sig               []byte
	}
	var vecs []signed
	for i, g := range v.Gateway {
		sig, err := hex.DecodeString(g.Signature)
		if err != nil {
			f.Fatal(err)
		}
		vecs = append(vecs, signed{g.Token, g.Path, ksign.VIPStringToSign(g.Path, g.Params), g.Params, sig})
		n := uint8(i)
		f.Add(n, "", "", "", false, g.Signature)
		f.Add(n, "", "", "", false, strings.ToLower(g.Signature))
		f.Add(n, g.Path+"/", "", "", false, g.Signature)
		f.Add(n, "", "timestamp", "1704110401", false, g.Signature)
		f.Add(n, "", "amount", "", true, g.Signature)
		f.Add(n, "", "", "", false, flipHex(g.Signature, 7))
		f.Add(n, "", "", "", false, g.Signature+"00")
	}
	f.Fuzz(func(t *testing.T, n uint8, path, key, value string, drop bool, sig string) {
		vec := vecs[int(n)%len(vecs)]
		fields := maps.Clone(vec.fields)
		if key != "" {
			if drop {
				delete(fields, key)
			} else {
				fields[key] = value
			}
		}
		if path == "" {
			path = vec.path
		}
		err := ksign.VIPVerify(vec.token, path, fields, sig)
		got, herr := hex.DecodeString(strings.TrimSpace(sig))
		genuine := herr == nil && ksign.VIPStringToSign(path, fields) == vec.text && bytes.Equal(got, vec.sig)
		switch {
		case genuine && err != nil:
			t.Fatalf("genuine signature refused: %v", err)
		case !genuine && err == nil:
			t.Fatalf("accepted a signature it was not given: %q over %q", sig, ksign.VIPStringToSign(path, fields))
		case err != nil && !errors.Is(err, ksign.ErrBadSignature):
			t.Fatalf("refusal %v is not ErrBadSignature", err)
		}
		// Our own signatures round-trip, for any token (value) and prefix.
		own := ksign.VIPSign(value, path, fields)
		if err := ksign.VIPVerify(value, path, fields, strings.ToLower(own)); err != nil {
			t.Fatalf("VIPSign output does not verify: %v", err)
		}
		if ksign.VIPVerify(value+"x", path, fields, own) == nil {
			t.Fatal("a signature verified with another token")
		}
	})
}
