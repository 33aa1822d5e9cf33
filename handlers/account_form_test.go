package handlers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/models"
)

func TestParseMids(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	stored := []models.Mid{{Mid: "M1", Name: "old name", Currency: "USD"}, {Mid: "M2", Currency: "THB"}}
	tests := []struct {
		name   string
		text   string
		stored []models.Mid
		want   []models.Mid
	}{
		{"empty", "", nil, nil},
		{"blank lines only", "\n  \n\t\r\n", nil, nil},
		{"mid and name", "M1 Shop One\nM3\n", nil, []models.Mid{{Mid: "M1", Name: "Shop One"}, {Mid: "M3"}}},
		{"no final newline", "M1\nM3 Three", nil, []models.Mid{{Mid: "M1"}, {Mid: "M3", Name: "Three"}}},
		{"textarea CRLF and extra spaces", "  M1   Shop \t One  \r\n\r\nM3\r\n", nil,
			[]models.Mid{{Mid: "M1", Name: "Shop One"}, {Mid: "M3"}}},
		{"tab separates", "M1\tShop", nil, []models.Mid{{Mid: "M1", Name: "Shop"}}},
		{"Thai name", "M1 ร้านค้า หนึ่ง", nil, []models.Mid{{Mid: "M1", Name: "ร้านค้า หนึ่ง"}}},
		{"stored mid keeps its currency, not its name", "M1 new name\nM3 new", stored,
			[]models.Mid{{Mid: "M1", Name: "new name", Currency: "USD"}, {Mid: "M3", Name: "new"}}},
		// Duplicates and odd mids are passed on: models refuses them (midRe).
		{"duplicate kept for models to refuse", "M1\nM1 again", nil, []models.Mid{{Mid: "M1"}, {Mid: "M1", Name: "again"}}},
		{"NUL byte is no separator", "M\x001 name", nil, []models.Mid{{Mid: "M\x001", Name: "name"}}},
		{"invalid UTF-8", "\xff\xfe name\xff", nil, []models.Mid{{Mid: "\xff\xfe", Name: "name\xff"}}},
		{"injection-ish", "'; DROP TABLE mids;-- <b>x</b>", nil, []models.Mid{{Mid: "';", Name: "DROP TABLE mids;-- <b>x</b>"}}},
		{"very long line", long + " " + long, nil, []models.Mid{{Mid: long, Name: long}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMids(tt.text, tt.stored)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseMids(%.60q) = %.200v, want %.200v", tt.text, got, tt.want)
			}
		})
	}
}

func TestMidsText(t *testing.T) {
	tests := []struct {
		name string
		mids []models.Mid
		want string
	}{
		{"none", nil, ""},
		{"one without a name", []models.Mid{{Mid: "M1"}}, "M1\n"},
		{"names", []models.Mid{{Mid: "M1", Name: "Shop One"}, {Mid: "M2"}, {Mid: "M3", Name: "ร้าน"}}, "M1 Shop One\nM2\nM3 ร้าน\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := midsText(tt.mids); got != tt.want {
				t.Errorf("midsText = %q, want %q", got, tt.want)
			}
		})
	}
}

// midsText is the inverse of parseMids: stored mids come back as they are
// (their currency from the stored list), and text comes back normalized,
// once and for all.
func TestMidsTextRoundTrip(t *testing.T) {
	stored := []models.Mid{{Mid: "M1", Name: "Shop One", Currency: "THB"}, {Mid: "M2", Currency: "USD"}, {Mid: "M3", Name: "ร้าน ค้า", Currency: "JPY"}}
	if got := parseMids(midsText(stored), stored); !reflect.DeepEqual(got, stored) {
		t.Errorf("parseMids(midsText(mids)) = %v, want %v", got, stored)
	}
	for _, text := range []string{
		"",
		"M1",
		"  M1   Shop \t One  \r\n\r\nM2\r\n",
		"M1\nM1 again\n\n",
		"\xff \x00 x",
	} {
		once := midsText(parseMids(text, nil))
		if twice := midsText(parseMids(once, nil)); twice != once {
			t.Errorf("text %q: normalized %q, then %q; want it stable", text, once, twice)
		}
		if !reflect.DeepEqual(parseMids(once, nil), parseMids(text, nil)) {
			t.Errorf("text %q: parseMids(midsText(parseMids)) = %v, want %v", text, parseMids(once, nil), parseMids(text, nil))
		}
	}
}

func TestCleanURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"/", ""},
		{"https://api.ksher.net", "https://api.ksher.net"},
		{" https://api.ksher.net/ ", "https://api.ksher.net"},
		{"https://api.ksher.net///", "https://api.ksher.net"},
		{"\thttps://sandbox.example/api/\r\n", "https://sandbox.example/api"},
		{"https://x.example/a/b/", "https://x.example/a/b"},
		{"https://x.example/?q=/", "https://x.example/?q="},
	}
	for _, tt := range tests {
		if got := cleanURL(tt.in); got != tt.want {
			t.Errorf("cleanURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// tamperedKey is the test merchant key with its public exponent changed:
// well-formed PKCS#1 whose numbers do not agree.
func tamperedKey(tb testing.TB) string {
	tb.Helper()
	k, err := ksign.ParsePrivateKey([]byte(MustKey(tb, "mch_priv_pkcs1.pem")))
	if err != nil {
		tb.Fatal(err)
	}
	bad := *k
	bad.Primes = []*big.Int{new(big.Int).Set(k.Primes[0]), new(big.Int).Set(k.Primes[1])}
	bad.Precomputed = rsa.PrecomputedValues{}
	bad.E = 3
	der := x509.MarshalPKCS1PrivateKey(&bad)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}))
}

func ecKey(tb testing.TB) string {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestPrivateKeyOK(t *testing.T) {
	pkcs1 := MustKey(t, "mch_priv_pkcs1.pem")
	tests := []struct {
		name, pem string
		want      bool
	}{
		{"PKCS#1", pkcs1, true},
		{"PKCS#8", MustKey(t, "mch_priv_pkcs8.pem"), true},
		{"2048-bit PKCS#1", MustKey(t, "ksim_priv_pkcs1.pem"), true},
		{"empty", "", false},
		{"garbage", "not a key", false},
		{"public key (PKCS#1)", MustKey(t, "mch_pub_pkcs1.pem"), false},
		{"public key (SPKI)", MustKey(t, "mch_pub_spki.pem"), false},
		{"cut in half", pkcs1[:len(pkcs1)/2], false},
		{"body changed", strings.Replace(pkcs1, "M", "N", 3), false},
		{"numbers do not agree", tamperedKey(t), false},
		{"EC key", ecKey(t), false},
		{"NUL bytes", "\x00\x00\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := privateKeyOK(tt.pem); got != tt.want {
				t.Errorf("privateKeyOK = %v, want %v", got, tt.want)
			}
		})
	}
}

// checkPEMs refuses every key of a v3 form that the gateway could not use,
// names the field, and never quotes the key.
func TestCheckPEMs(t *testing.T) {
	priv1, priv8 := MustKey(t, "mch_priv_pkcs1.pem"), MustKey(t, "mch_priv_pkcs8.pem")
	pub1, spki := MustKey(t, "ksim_pub_pkcs1.pem"), MustKey(t, "ksim_pub_spki.pem")
	const secret = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETTOPSECRET\n-----END RSA PRIVATE KEY-----\n"
	v3 := func(shared string, keys map[string]string, ksher string) *accountForm {
		return &accountForm{APIKind: models.APIv3, Secrets: models.CredentialsUpdate{
			SharedPrivateKey: shared, PrivateKeys: keys, KsherPublicKey: ksher}}
	}
	tests := []struct {
		name string
		form *accountForm
		want models.Problems
	}{
		{"v3 without keys", v3("", nil, ""), models.Problems{}},
		{"whitespace is no key", v3(" \n\t", map[string]string{"M1": "\r\n"}, "  "), models.Problems{}},
		{"good keys", v3(priv1, map[string]string{"M1": priv8}, pub1), models.Problems{}},
		{"good keys with spaces around", v3("\n  "+priv8+"\n\n", nil, "  "+spki+"  "), models.Problems{}},
		{"bad shared key", v3(secret, nil, ""),
			models.Problems{"private_key": {ID: "accounts.error.key_invalid_shared"}}},
		{"public key as the shared key", v3(pub1, nil, ""),
			models.Problems{"private_key": {ID: "accounts.error.key_invalid_shared"}}},
		{"bad key of one mid", v3("", map[string]string{"M1": priv1, "M2": secret}, ""),
			models.Problems{"key_M2": {ID: "accounts.error.key_invalid", Data: map[string]any{"Mid": "M2"}}}},
		{"bad Ksher key", v3("", nil, secret),
			models.Problems{"ksher_public_key": {ID: "accounts.error.ksher_key_invalid"}}},
		{"private key as Ksher's", v3("", nil, priv1),
			models.Problems{"ksher_public_key": {ID: "accounts.error.ksher_key_invalid"}}},
		{"every field bad", v3("x", map[string]string{"M1": "y", "M2": "z"}, "w"), models.Problems{
			"private_key":      {ID: "accounts.error.key_invalid_shared"},
			"key_M1":           {ID: "accounts.error.key_invalid", Data: map[string]any{"Mid": "M1"}},
			"key_M2":           {ID: "accounts.error.key_invalid", Data: map[string]any{"Mid": "M2"}},
			"ksher_public_key": {ID: "accounts.error.ksher_key_invalid"}}},
		{"vip forms carry no keys to check", &accountForm{APIKind: models.APIVIP, Secrets: models.CredentialsUpdate{
			SharedPrivateKey: secret, KsherPublicKey: secret, Token: "t"}}, models.Problems{}},
		{"unknown API", &accountForm{APIKind: "v9", Secrets: models.CredentialsUpdate{SharedPrivateKey: secret}}, models.Problems{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkPEMs(tt.form)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checkPEMs = %v, want %v", got, tt.want)
			}
			if s := fmt.Sprintf("%#v", got); strings.Contains(s, "TOPSECRET") || strings.Contains(s, "BEGIN") {
				t.Errorf("problems quote the key: %s", s)
			}
		})
	}
}

// accountID and personID take only a positive integer; the rest is 404.
func TestRouteIDs(t *testing.T) {
	tests := []struct {
		param  string
		want   int64
		wantOK bool
	}{
		{"7", 7, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"0", 0, false},
		{"-3", 0, false},
		{"abc", 0, false},
		{"1e3", 0, false},
		{"1.5", 0, false},
		{"0x10", 0, false},
		{"9223372036854775808", 0, false},
		{"7%20", 0, false},
		{"%00", 0, false},
		{"7;drop", 0, false},
	}
	for name, parse := range map[string]func(*fiber.Ctx) (int64, error){"accountID": accountID, "personID": personID} {
		for _, tt := range tests {
			var got int64
			var err error
			MustServe(t, "/x/:id", httptest.NewRequest(fiber.MethodGet, "/x/"+tt.param, nil), func(c *fiber.Ctx) error {
				got, err = parse(c)
				return nil
			})
			if tt.wantOK && (err != nil || got != tt.want) {
				t.Errorf("%s(%q) = %d, %v; want %d", name, tt.param, got, err, tt.want)
			}
			if !tt.wantOK && err != fiber.ErrNotFound {
				t.Errorf("%s(%q) = %d, %v; want fiber.ErrNotFound", name, tt.param, got, err)
			}
		}
	}
}
