package gateway_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// The notification fuzzers sign with the 1024-bit merchant key standing in
// for Ksher's (it is fast enough to re-sign every input), and the committed
// corpora hold the sandbox's notification shapes signed with it: an
// order_query notification, a gateway_pay one, and its URL-encoded form.

const fuzzToken = "test-token-0123456789abcdef"

// fuzzV3Data is a paid KsherPay order as the sandbox notifies it.
func fuzzV3Data() map[string]any {
	return map[string]any{"appid": testMid, "attach": "", "cash_fee": json.Number("7"), "cash_fee_type": "CNY",
		"channel": "wechat", "channel_order_no": "4200000607202006237838347168", "consumer_remark": "", "device_id": "",
		"fee_type": "THB", "ksher_order_no": "90020200623192741778187", "mch_order_no": "ORD-1", "merchant_remark": "ทดสอบ",
		"nonce_str": "f4d6aefa63f67ed4abdd83c164191b63", "openid": "o2G4c", "operation": "ORDER-QUERY", "operator_id": "",
		"rate": "0.223410", "raw_total_fee": json.Number("100"), "result": "SUCCESS", "time_end": "2024-01-01 12:00:00",
		"total_fee": json.Number("100")}
}

func fuzzEnvelope(tb testing.TB, data map[string]any) []byte {
	sign, err := ksign.V3Sign(MustPrivateKey(tb, "mch_priv_pkcs1.pem"), data)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"code": 0, "msg": "ok", "sign": sign, "version": "3.0.0", "data": data})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParseV3 feeds ParseV3 any body, as sent or with its data re-signed
// (so the parsing after a good signature is reached too). A refusal is a
// bad-signature *Error, or for signed data one of invalid request; an acceptance is of data whose string to
// sign carries the one signature of its data, for the client's merchant, with text fields that are
// valid UTF-8 without NUL, no longer than the body, and an amount that is
// total_fee (never a wrapped float).
func FuzzParseV3(f *testing.F) {
	priv := MustPrivateKey(f, "mch_priv_pkcs1.pem")
	c, err := gateway.New(gateway.Config{Kind: gateway.APIV3, KsherPublicKey: &priv.PublicKey,
		Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: priv}}}, gateway.WithLogger(discardLogger()))
	if err != nil {
		f.Fatal(err)
	}
	paid := fuzzEnvelope(f, fuzzV3Data())
	link := fuzzV3Data()
	link["pay_mch_order_no"], link["total_fee"] = "LINK-1", "100"
	f.Add(paid, false)
	f.Add(fuzzEnvelope(f, link), false)
	f.Add([]byte(url.QueryEscape(string(paid))), false)
	f.Add([]byte(`{"data":{"appid":"mch35000","total_fee":1e19},"sign":"00"}`), true)
	f.Add([]byte(`{"data":{"appid":"mch35000","total_fee":"-1e19"},"sign":"00"}`), true)
	f.Add([]byte(`{"data":{"appid":"mch35000","mch_order_no":"A\u0000"},"sign":"00"}`), true)
	f.Add([]byte(`{"data":{"appid":"mch35000","total_fee":"-9.5","time_end":"2024-13-01 25:00:00"},"sign":"00"}`), true)
	f.Fuzz(func(t *testing.T, body []byte, resign bool) {
		signed := false
		if resign {
			if m, err := ksign.DecodeObject(body); err == nil {
				if data, ok := m["data"].(map[string]any); ok {
					if m["sign"], err = ksign.V3Sign(priv, data); err != nil {
						return // a value V3StringToSign refuses: nothing to sign
					}
					signed = true
					if body, err = json.Marshal(m); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		n, err := c.Notifications.ParseV3(body)
		if err != nil {
			var ge *gateway.Error
			bad := errors.As(err, &ge) && ge.Kind == gateway.KindBadSignature && errors.Is(err, ksign.ErrBadSignature)
			if !bad && (ge == nil || ge.Kind != gateway.KindInvalidRequest || !signed) {
				t.Fatalf("refusal is neither a bad signature nor (of signed data) invalid: %#v", err)
			}
			return
		}
		m, err := ksign.DecodeObject(n.Raw)
		if err != nil {
			t.Fatalf("accepted a body that is not an object: %v", err)
		}
		// PKCS#1 v1.5 signing is deterministic: the one signature of data.
		data, _ := m["data"].(map[string]any)
		if want, err := ksign.V3Sign(priv, data); err != nil || want != n.Signature {
			t.Fatalf("accepted data that was not signed: signature %q, the data's is %q (%v)", n.Signature, want, err)
		}
		if n.Mid != testMid {
			t.Fatalf("mid = %q, want %q", n.Mid, testMid)
		}
		if s, err := hex.DecodeString(n.Signature); err != nil || n.Signature != strings.ToLower(n.Signature) || len(s) == 0 {
			t.Fatalf("signature %q is not lower-case hex", n.Signature)
		}
		for name, v := range map[string]string{"mch_order_no": n.MerchantOrderID, "ksher_order_no": n.KsherOrderID,
			"pay_mch_order_no": n.PayOrderID, "channel_order_no": n.ChannelOrderID, "channel": n.Channel,
			"fee_type": n.Currency, "result": n.RawStatus, "err_code": n.RawCode} {
			checkText(t, name, v, len(body))
		}
		checkAmount(t, data["total_fee"], n.Amount)
		if !n.PaidAt.IsZero() && n.PaidAt.Location().String() != "UTC" {
			t.Fatalf("PaidAt %v is not UTC", n.PaidAt)
		}
	})
}

// checkText fails unless s is valid UTF-8 without NUL and at most max bytes.
func checkText(t *testing.T, name, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > max {
		t.Fatalf("%s = %q: not valid UTF-8 without NUL within %d bytes", name, s, max)
	}
}

// checkAmount fails when amount is not the value of v rounded (exactly,
// below 2^53), or is a value v does not hold: another sign, or anything
// but 0 for a number out of int64's range (a wrapped float conversion).
func checkAmount(t *testing.T, v any, amount int64) {
	t.Helper()
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return
	}
	want, ok := new(big.Float).SetString(text)
	if !ok || amount == 0 {
		return // not a number, or taken as none
	}
	abs := new(big.Float).Abs(want)
	diff := new(big.Float).Sub(want, new(big.Float).SetInt64(amount))
	switch {
	case want.IsInf() || abs.Cmp(big.NewFloat(1<<63)) >= 0:
		t.Fatalf("amount %d for total_fee %s, out of range", amount, text)
	case want.Sign() != big.NewInt(amount).Sign():
		t.Fatalf("amount %d for total_fee %s: another sign", amount, text)
	case abs.Cmp(big.NewFloat(1<<53)) < 0 && diff.Abs(diff).Cmp(big.NewFloat(0.5)) > 0:
		t.Fatalf("amount %d for total_fee %s: not its rounding", amount, text)
	}
}

// FuzzParseVIP feeds ParseVIP any webhook URL and query, as sent or
// re-signed with the account token over the URL as the parser reads it.
// A refusal is a bad-signature or invalid-request *Error; an acceptance
// carries the HMAC of what it read, with the query's values as valid UTF-8 without NUL
// and the signature in upper-case hex.
func FuzzParseVIP(f *testing.F) {
	c, err := gateway.New(gateway.Config{Kind: gateway.APIVIP, Token: fuzzToken, Mids: []string{testMid}},
		gateway.WithBaseURL("https://demo.vip.ksher.net"), gateway.WithLogger(discardLogger()))
	if err != nil {
		f.Fatal(err)
	}
	const hook = "https://shop.example.com/ksher/webhook"
	paid := url.Values{"type": {"Order"}, "instance": {"mc_20240101_0001"}, "code": {"StatusChange"}, "message": {"Order Paid"}}
	paid.Set("signature", ksign.VIPSign(fuzzToken, hook, map[string]any{"type": "Order", "instance": "mc_20240101_0001", "code": "StatusChange", "message": "Order Paid"}))
	f.Add(hook, strings.ReplaceAll(paid.Encode(), "+", "%20"), false)
	f.Add(hook+"?x=1#top", paid.Encode(), false)
	f.Add("/ksher/webhook", paid.Encode(), false)
	f.Add(hook, "type=Order&instance=A%00&message=Order%20Paid", true)
	f.Add(hook, "type=Order&instance=%FF%FE&message=Order%20Refunded&message=x", true)
	f.Fuzz(func(t *testing.T, fullURL, rawQuery string, resign bool) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // the receiver refuses such a query before parsing
		}
		if u, err := url.Parse(fullURL); err == nil && resign {
			u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
			fields := map[string]any{}
			for k, vs := range q {
				if k != "signature" {
					fields[k] = vs[0]
				}
			}
			q.Set("signature", ksign.VIPSign(fuzzToken, u.String(), fields))
		}
		n, err := c.Notifications.ParseVIP(fullURL, q)
		if err != nil {
			var ge *gateway.Error
			if !errors.As(err, &ge) || (ge.Kind != gateway.KindBadSignature && ge.Kind != gateway.KindInvalidRequest) {
				t.Fatalf("refusal is not a bad-signature or invalid-request *gateway.Error: %#v", err)
			}
			return
		}
		u, _ := url.Parse(fullURL)
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		fields := map[string]any{}
		for k, vs := range q {
			if k != "signature" {
				fields[k] = vs[0]
			}
		}
		if want := ksign.VIPSign(fuzzToken, u.String(), fields); want != n.Signature {
			t.Fatalf("accepted a webhook that was not signed: signature %q, its fields' is %q", n.Signature, want)
		}
		if s, err := hex.DecodeString(n.Signature); err != nil || len(s) != 32 || n.Signature != strings.ToUpper(n.Signature) {
			t.Fatalf("signature %q is not upper-case hex of 32 bytes", n.Signature)
		}
		for name, v := range map[string]string{"instance": n.MerchantOrderID, "type": n.Type, "code": n.Code, "message": n.Message} {
			if v != q.Get(name) {
				t.Fatalf("%s = %q, the query has %q", name, v, q.Get(name))
			}
			checkText(t, name, v, len(rawQuery))
		}
	})
}
