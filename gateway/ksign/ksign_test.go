package ksign_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

const testdata = "../../testdata/ksher"

type vectorFile struct {
	V3 []struct {
		Name         string         `json:"name"`
		Params       map[string]any `json:"params"`
		Body         map[string]any `json:"body"`
		StringToSign string         `json:"string_to_sign"`
		Sign         string         `json:"sign"`
	} `json:"v3"`
	Gateway []struct {
		Name         string         `json:"name"`
		Token        string         `json:"token"`
		Path         string         `json:"path"`
		Params       map[string]any `json:"params"`
		StringToSign string         `json:"string_to_sign"`
		Signature    string         `json:"signature"`
	} `json:"gateway"`
	PublicSamples []struct {
		Name         string         `json:"name"`
		Data         map[string]any `json:"data"`
		Sign         string         `json:"sign"`
		StringToSign string         `json:"string_to_sign"`
		ValidWith    string         `json:"valid_with"`
	} `json:"public_samples"`
}

type extraFile struct {
	V3Responses []struct {
		Name      string         `json:"name"`
		Operation string         `json:"operation"`
		Body      map[string]any `json:"body"`
	} `json:"v3_responses"`
	VIPResponses []struct {
		Name         string         `json:"name"`
		Token        string         `json:"token"`
		Path         string         `json:"path"`
		Body         map[string]any `json:"body"`
		StringToSign string         `json:"string_to_sign"`
	} `json:"vip_responses"`
}

// MustLoadJSON decodes a testdata file with UseNumber so integers keep their text.
func MustLoadJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	f, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
}

// MustPrivateKey reads a PEM private key from testdata/ksher/keys.
func MustPrivateKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePrivateKey(b)
	if err != nil {
		tb.Fatalf("ParsePrivateKey(%s): %v", name, err)
	}
	return k
}

// MustPublicKey reads a PEM public key from testdata/ksher/keys.
func MustPublicKey(tb testing.TB, name string) *rsa.PublicKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePublicKey(b)
	if err != nil {
		tb.Fatalf("ParsePublicKey(%s): %v", name, err)
	}
	return k
}

func flipHex(s string, i int) string {
	b := []byte(s)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

// changeOneByte returns a copy of fields with one byte of the first
// non-empty string value changed.
func changeOneByte(fields map[string]any) map[string]any {
	// Change the first signed string field in key order, so the tampering is
	// the same on every run: map order is random, and "signature" and
	// "log_entry_url" are not part of what is signed.
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := maps.Clone(fields)
	for _, k := range keys {
		if k == "signature" || k == "log_entry_url" || k == "sign" {
			continue
		}
		if s, ok := fields[k].(string); ok && s != "" {
			b := []byte(s)
			b[0] ^= 0x01
			out[k] = string(b)
			return out
		}
	}
	out["zz_extra"] = "x"
	return out
}

func TestV3RequestVectors(t *testing.T) {
	var vf vectorFile
	MustLoadJSON(t, "vectors.json", &vf)
	privs := map[string]*rsa.PrivateKey{
		"pkcs1": MustPrivateKey(t, "mch_priv_pkcs1.pem"),
		"pkcs8": MustPrivateKey(t, "mch_priv_pkcs8.pem"),
	}
	pubs := map[string]*rsa.PublicKey{
		"pkcs1": MustPublicKey(t, "mch_pub_pkcs1.pem"),
		"spki":  MustPublicKey(t, "mch_pub_spki.pem"),
	}
	n := 0
	for _, v := range vf.V3 {
		if v.Params == nil {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			got, err := ksign.V3StringToSign(v.Params)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.StringToSign {
				t.Errorf("V3StringToSign = %q, want %q", got, v.StringToSign)
			}
			for kn, k := range privs {
				sig, err := ksign.V3Sign(k, v.Params)
				if err != nil {
					t.Fatalf("V3Sign(%s): %v", kn, err)
				}
				if sig != v.Sign {
					t.Errorf("V3Sign(%s) = %s, want %s", kn, sig, v.Sign)
				}
			}
			for pn, p := range pubs {
				if err := ksign.V3Verify(p, v.Params, v.Sign); err != nil {
					t.Errorf("V3Verify(%s) = %v, want nil", pn, err)
				}
				if err := ksign.V3Verify(p, v.Params, strings.ToUpper(v.Sign)); err != nil {
					t.Errorf("V3Verify(%s, upper-case hex) = %v, want nil", pn, err)
				}
			}
		})
	}
	if n != 3 {
		t.Errorf("request vectors = %d, want 3", n)
	}
}

func TestV3ResponseVectors(t *testing.T) {
	var vf vectorFile
	MustLoadJSON(t, "vectors.json", &vf)
	priv := MustPrivateKey(t, "ksim_priv_pkcs1.pem")
	pubs := map[string]*rsa.PublicKey{
		"pkcs1": MustPublicKey(t, "ksim_pub_pkcs1.pem"),
		"spki":  MustPublicKey(t, "ksim_pub_spki.pem"),
	}
	n := 0
	for _, v := range vf.V3 {
		if v.Body == nil {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			data, _ := v.Body["data"].(map[string]any)
			sign, _ := v.Body["sign"].(string)
			got, err := ksign.V3StringToSign(ksign.V3ResponseSubset("order_query", data))
			if err != nil {
				t.Fatal(err)
			}
			if got != v.StringToSign {
				t.Errorf("V3StringToSign = %q, want %q", got, v.StringToSign)
			}
			resign, err := ksign.V3Sign(priv, data)
			if err != nil {
				t.Fatal(err)
			}
			if resign != sign {
				t.Errorf("V3Sign = %s, want %s", resign, sign)
			}
			for pn, p := range pubs {
				if err := ksign.V3Verify(p, data, sign); err != nil {
					t.Errorf("V3Verify(%s) = %v, want nil", pn, err)
				}
				if err := ksign.V3Verify(p, data, flipHex(sign, 10)); !errors.Is(err, ksign.ErrBadSignature) {
					t.Errorf("V3Verify(%s, flipped sign) = %v, want ErrBadSignature", pn, err)
				}
				if err := ksign.V3Verify(p, changeOneByte(data), sign); !errors.Is(err, ksign.ErrBadSignature) {
					t.Errorf("V3Verify(%s, changed data) = %v, want ErrBadSignature", pn, err)
				}
			}
		})
	}
	if n != 2 {
		t.Errorf("response vectors = %d, want 2", n)
	}
}

func TestV3PublicSamples(t *testing.T) {
	var vf vectorFile
	MustLoadJSON(t, "vectors.json", &vf)
	embedded, err := ksign.ParsePublicKey([]byte(ksign.KsherV1PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if len(vf.PublicSamples) == 0 {
		t.Fatal("no public samples")
	}
	for _, s := range vf.PublicSamples {
		t.Run(s.Name, func(t *testing.T) {
			pub := MustPublicKey(t, filepath.Base(s.ValidWith))
			if pub.N.Cmp(embedded.N) != 0 {
				t.Errorf("%s differs from the embedded Ksher V1 key", s.ValidWith)
			}
			got, err := ksign.V3StringToSign(s.Data)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.StringToSign {
				t.Errorf("V3StringToSign = %q, want %q", got, s.StringToSign)
			}
			if err := ksign.V3Verify(pub, s.Data, s.Sign); err != nil {
				t.Errorf("V3Verify = %v, want nil", err)
			}
			for _, i := range []int{0, len(s.Sign) / 2, len(s.Sign) - 1} {
				if err := ksign.V3Verify(pub, s.Data, flipHex(s.Sign, i)); !errors.Is(err, ksign.ErrBadSignature) {
					t.Errorf("V3Verify(sign with char %d flipped) = %v, want ErrBadSignature", i, err)
				}
			}
			if err := ksign.V3Verify(pub, changeOneByte(s.Data), s.Sign); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("V3Verify(changed data) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestV3ExtraPublicSamples(t *testing.T) {
	var ef extraFile
	MustLoadJSON(t, "extra_samples.json", &ef)
	pub, err := ksign.ParsePublicKey([]byte(ksign.KsherV1PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ef.V3Responses {
		t.Run(s.Name, func(t *testing.T) {
			data := s.Body["data"].(map[string]any)
			sign := s.Body["sign"].(string)
			signed := ksign.V3ResponseSubset(s.Operation, data)
			if err := ksign.V3Verify(pub, signed, sign); err != nil {
				t.Errorf("V3Verify = %v, want nil", err)
			}
			if err := ksign.V3Verify(pub, signed, flipHex(sign, 5)); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("V3Verify(flipped) = %v, want ErrBadSignature", err)
			}
			if err := ksign.V3Verify(pub, changeOneByte(signed), sign); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("V3Verify(changed data) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestV3ResponseSubset(t *testing.T) {
	data := map[string]any{
		"mobile": "1", "mch_id": "2", "account_type": "Test", "business_mode": "online", "nonce_str": "n",
		"begin_date": "2024-01-01", "end_date": "2024-01-02", "settlement_data": []any{}, "extra": "x",
	}
	tests := []struct {
		name string
		op   string
		want []string
	}{
		{"merchant_info", "merchant_info", []string{"account_type", "business_mode", "mch_id", "mobile", "nonce_str"}},
		{"get_settlement_info", "get_settlement_info", []string{"begin_date", "end_date", "nonce_str"}},
		{"other", "order_query", []string{"account_type", "begin_date", "business_mode", "end_date", "extra", "mch_id", "mobile", "nonce_str", "settlement_data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ksign.V3ResponseSubset(tt.op, data)
			if len(got) != len(tt.want) {
				t.Errorf("len = %d, want %d", len(got), len(tt.want))
			}
			for _, k := range tt.want {
				if _, ok := got[k]; !ok {
					t.Errorf("field %q missing", k)
				}
			}
		})
	}
}

func TestV3StringToSignValues(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"sign skipped, empty kept", map[string]any{"sign": "x", "a": "", "b": "1"}, "a=b=1"},
		{"pieces sorted as bytes", map[string]any{"appid": "m", "PaymentCode": "p", "a_b": "1", "a": "2"}, "PaymentCode=pa=2a_b=1appid=m"},
		{"ints", map[string]any{"i": 100, "j": int64(-5), "n": json.Number("007")}, "i=100j=-5n=007"},
		{"bool and nil (Node SDK style)", map[string]any{"t": true, "f": false, "z": nil}, "f=falset=truez=null"},
		{"array compact sorted no html escape", map[string]any{"r": []any{map[string]any{"z": "<&>", "a": json.Number("1"), "u": "ทดสอบ"}}}, `r=[{"a":1,"u":"ทดสอบ","z":"<&>"}]`},
		{"array of maps", map[string]any{"r": []map[string]any{{"b": "x\"y", "a": "\n"}}}, `r=[{"a":"\n","b":"x\"y"}]`},
		{"nested object as sorted key list (Node SDK)", map[string]any{"o": map[string]any{"b": 1, "a": 2}}, `o=["a","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ksign.V3StringToSign(tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("V3StringToSign = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ksign.V3StringToSign(map[string]any{"x": struct{}{}}); err == nil {
		t.Errorf("V3StringToSign(struct) error = nil, want error")
	}
}

func TestVIPVectors(t *testing.T) {
	var vf vectorFile
	MustLoadJSON(t, "vectors.json", &vf)
	if len(vf.Gateway) != 6 {
		t.Errorf("gateway vectors = %d, want 6", len(vf.Gateway))
	}
	for _, v := range vf.Gateway {
		t.Run(v.Name, func(t *testing.T) {
			if got := ksign.VIPStringToSign(v.Path, v.Params); got != v.StringToSign {
				t.Errorf("VIPStringToSign = %q, want %q", got, v.StringToSign)
			}
			if got := ksign.VIPSign(v.Token, v.Path, v.Params); got != v.Signature {
				t.Errorf("VIPSign = %s, want %s", got, v.Signature)
			}
			if err := ksign.VIPVerify(v.Token, v.Path, v.Params, strings.ToLower(v.Signature)); err != nil {
				t.Errorf("VIPVerify(lower-case) = %v, want nil", err)
			}
			if err := ksign.VIPVerify(v.Token, v.Path, v.Params, flipHex(v.Signature, 7)); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("VIPVerify(flipped) = %v, want ErrBadSignature", err)
			}
			if err := ksign.VIPVerify(v.Token, v.Path, changeOneByte(v.Params), v.Signature); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("VIPVerify(changed data) = %v, want ErrBadSignature", err)
			}
			if err := ksign.VIPVerify(v.Token, v.Path+"/", v.Params, v.Signature); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("VIPVerify(other path) = %v, want ErrBadSignature", err)
			}
			if err := ksign.VIPVerify(v.Token+"x", v.Path, v.Params, v.Signature); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("VIPVerify(other token) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVIPRealServerResponse(t *testing.T) {
	var ef extraFile
	MustLoadJSON(t, "extra_samples.json", &ef)
	if len(ef.VIPResponses) == 0 {
		t.Fatal("no vip samples")
	}
	for _, s := range ef.VIPResponses {
		t.Run(s.Name, func(t *testing.T) {
			if got := ksign.VIPStringToSign(s.Path, s.Body); got != s.StringToSign {
				t.Errorf("VIPStringToSign = %q, want %q", got, s.StringToSign)
			}
			sig := s.Body["signature"].(string)
			if err := ksign.VIPVerify(s.Token, s.Path, s.Body, sig); err != nil {
				t.Errorf("VIPVerify = %v, want nil", err)
			}
			if err := ksign.VIPVerify(s.Token, s.Path, changeOneByte(s.Body), sig); !errors.Is(err, ksign.ErrBadSignature) {
				t.Errorf("VIPVerify(changed) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVIPStringToSignValues(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"python booleans and None", map[string]any{"a": true, "b": false, "c": nil}, "/pa" + "True" + "b" + "False" + "c" + "None"},
		{"ints", map[string]any{"n": 5, "m": int64(-100), "o": json.Number("0")}, "/pm-100n5o0"},
		{"signature and log_entry_url skipped", map[string]any{"signature": "S", "log_entry_url": "u", "x": "1"}, "/px1"},
		{"python repr of nested", map[string]any{"d": map[string]any{"b": "x", "a": json.Number("1"), "t": true}}, "/pd{'a': 1, 'b': 'x', 't': True}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ksign.VIPStringToSign("/p", tt.fields); got != tt.want {
				t.Errorf("VIPStringToSign = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	a := MustPrivateKey(t, "mch_priv_pkcs1.pem")
	b := MustPrivateKey(t, "mch_priv_pkcs8.pem")
	if a.N.Cmp(b.N) != 0 || a.D.Cmp(b.D) != 0 {
		t.Errorf("PKCS#1 and PKCS#8 keys differ")
	}
	p1 := MustPublicKey(t, "mch_pub_pkcs1.pem")
	p2 := MustPublicKey(t, "mch_pub_spki.pem")
	if p1.N.Cmp(a.N) != 0 || p2.N.Cmp(a.N) != 0 {
		t.Errorf("public keys do not match the private key")
	}
	bad := []struct {
		name string
		pem  string
	}{
		{"empty", ""},
		{"not pem", "hello"},
		{"garbage block", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ksign.ParsePrivateKey([]byte(tt.pem)); err == nil {
				t.Errorf("ParsePrivateKey error = nil, want error")
			}
			if _, err := ksign.ParsePublicKey([]byte(tt.pem)); err == nil {
				t.Errorf("ParsePublicKey error = nil, want error")
			}
		})
	}
}

func TestV3VerifyBadInputs(t *testing.T) {
	pub := MustPublicKey(t, "mch_pub_pkcs1.pem")
	fields := map[string]any{"a": "1"}
	for _, sig := range []string{"", "zz", "00", strings.Repeat("ab", 300)} {
		if err := ksign.V3Verify(pub, fields, sig); !errors.Is(err, ksign.ErrBadSignature) {
			t.Errorf("V3Verify(%q) = %v, want ErrBadSignature", sig, err)
		}
	}
	if err := ksign.VIPVerify("t", "/p", fields, "nothex"); !errors.Is(err, ksign.ErrBadSignature) {
		t.Errorf("VIPVerify(nothex) = %v, want ErrBadSignature", err)
	}
}

func TestDecodeObject(t *testing.T) {
	m, err := ksign.DecodeObject([]byte(`{"a":100,"b":1.50}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m["b"]; got != json.Number("1.50") {
		t.Errorf("b = %v, want 1.50", got)
	}
	for _, in := range []string{`[]`, `null`, `{"a":1} x`, `{`} {
		if _, err := ksign.DecodeObject([]byte(in)); err == nil {
			t.Errorf("DecodeObject(%s) error = nil, want error", in)
		}
	}
}
