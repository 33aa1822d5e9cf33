package models

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// FuzzStorable: whatever the bytes and the cap, the result is valid UTF-8
// without NUL, within the cap, a fixed point (storing it again changes
// nothing), and bytes that were already storable within the cap are kept
// as they are.
func FuzzStorable(f *testing.F) {
	f.Add([]byte("Mozilla/5.0 (X11; Linux x86_64)"), uint16(300))
	f.Add([]byte("fin@example.com\x00"), uint16(254))
	f.Add([]byte("é"), uint16(1))
	f.Add([]byte("a\xff\xfeb"), uint16(3))
	f.Add([]byte("ทดสอบ"), uint16(4))
	f.Add([]byte("\xed\xa0\x80 surrogate"), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, max uint16) {
		out := Storable(b, int(max))
		if !utf8.ValidString(out) || strings.ContainsRune(out, 0) || len(out) > int(max) {
			t.Fatalf("Storable(%q, %d) = %q: not valid UTF-8 without NUL within the cap", b, max, out)
		}
		if again := Storable([]byte(out), int(max)); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		if utf8.Valid(b) && !strings.ContainsRune(string(b), 0) && len(b) <= int(max) && out != string(b) {
			t.Fatalf("Storable changed storable text %q into %q", b, out)
		}
	})
}

// FuzzLookupPlan: the search-id classifier is total and deterministic.
// On v3 an id of 20 to 32 ASCII digits starting with 9 is asked as a Ksher
// number only, anything else by merchant, link and channel number in that
// order; vip asks the five order families whatever the id.
func FuzzLookupPlan(f *testing.F) {
	pem, err := os.ReadFile("../testdata/ksher/keys/mch_priv_pkcs1.pem")
	if err != nil {
		f.Fatal(err)
	}
	priv, err := ksign.ParsePrivateKey(pem)
	if err != nil {
		f.Fatal(err)
	}
	v3, err := gateway.New(gateway.Config{Kind: gateway.APIV3, KsherPublicKey: &priv.PublicKey,
		Credentials: map[string]gateway.Credentials{"mch35000": {AppID: "mch35000", PrivateKey: priv}}})
	if err != nil {
		f.Fatal(err)
	}
	vip, err := gateway.New(gateway.Config{Kind: gateway.APIVIP, Token: "t", Mids: []string{"mch35000"}}, gateway.WithBaseURL("https://demo.vip.ksher.net"))
	if err != nil {
		f.Fatal(err)
	}
	for _, id := range []string{"90020200623192741778187", "9002020062319274177", "900202006231927417781870000000000",
		"ORD-1", "4200000607202006237838347168", "９00202006231927417781", "90020200623192741778187\n", ""} {
		f.Add(id)
	}
	a := &MerchantAccount{ID: 1}
	labels := func(c *gateway.Client, id string) []string {
		var out []string
		for _, s := range lookupPlan(c, a, "mch35000", id) {
			out = append(out, s.Label)
		}
		return out
	}
	f.Fuzz(func(t *testing.T, id string) {
		ksherNo := len(id) >= 20 && len(id) <= 32 && id[0] == '9' && strings.Trim(id, "0123456789") == ""
		want := []string{"mch_order_no", "payment_link", "channel_order_no"}
		if ksherNo {
			want = []string{"ksher_order_no"}
		}
		if got := labels(v3, id); !slices.Equal(got, want) || !slices.Equal(labels(v3, id), got) {
			t.Fatalf("v3 plan for %q = %v, want %v", id, got, want)
		}
		var fams []string
		for _, fam := range vipFamilies {
			fams = append(fams, string(fam))
		}
		if got := labels(vip, id); !slices.Equal(got, fams) {
			t.Fatalf("vip plan for %q = %v, want %v", id, got, fams)
		}
	})
}
