package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

func redirectFields(id string, amount int) map[string]any {
	return map[string]any{"merchant_order_id": id, "amount": amount, "note": "two items",
		"redirect_url": "https://shop.example.com/ok", "redirect_url_fail": "https://shop.example.com/fail"}
}

// rawVIP sends a prepared body and returns status and decoded body.
func (e *env) rawVIP(method, path string, body []byte, query string) (int, map[string]any) {
	e.t.Helper()
	u := e.url(path)
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, MustDecode(e.t, b)
}

func TestVIPRequestSignature(t *testing.T) {
	e := MustEnv(t)
	const path = "/api/v1/redirect/orders"
	signed := func(id string) map[string]any {
		f := redirectFields(id, 15050)
		f["timestamp"] = "1704110400"
		f["signature"] = ksign.VIPSign(testToken, path, f)
		return f
	}
	tests := []struct {
		name   string
		mutate func(map[string]any)
		want   int
	}{
		{"valid", func(map[string]any) {}, http.StatusOK},
		{"one char changed", func(f map[string]any) { f["signature"] = flipChar(f["signature"].(string)) }, http.StatusUnauthorized},
		{"field changed after signing", func(f map[string]any) { f["amount"] = 15051 }, http.StatusUnauthorized},
		{"missing signature", func(f map[string]any) { delete(f, "signature") }, http.StatusUnauthorized},
		{"lower-case hex (PHP SDK)", func(f map[string]any) { f["signature"] = strings.ToLower(f["signature"].(string)) }, http.StatusOK},
		{"string values (Java SDK)", func(f map[string]any) {
			f["amount"] = "15050"
			f["signature"] = ksign.VIPSign(testToken, path, f)
		}, http.StatusOK},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := signed("sig_" + string(rune('a'+i)))
			tt.mutate(f)
			b, _ := json.Marshal(f)
			status, body := e.rawVIP(http.MethodPost, path, b, "")
			if status != tt.want {
				t.Fatalf("status = %d, want %d: %v", status, tt.want, body)
			}
			if status == http.StatusUnauthorized {
				if num(t, body, "code") != 401 || body["name"] != "Unauthorized" || body["log_entry_url"] == nil {
					t.Errorf("401 body = %v", body)
				}
				return
			}
			if err := ksign.VIPVerify(testToken, path, body, body["signature"].(string)); err != nil {
				t.Errorf("response signature: %v", err)
			}
			if body["status"] != "Available" || body["error_code"] != "SUCCESS" {
				t.Errorf("body = %v", body)
			}
		})
	}
	t.Run("GET with a JSON body (PHP/.NET SDKs)", func(t *testing.T) {
		p := "/api/v1/redirect/orders/sig_a"
		f := map[string]any{"timestamp": "1704110460", "mid": testMid}
		f["signature"] = ksign.VIPSign(testToken, p, f)
		b, _ := json.Marshal(f)
		status, body := e.rawVIP(http.MethodGet, p, b, "")
		if status != http.StatusOK || body["merchant_order_id"] != "sig_a" {
			t.Errorf("status %d, body %v", status, body)
		}
	})
	t.Run("Node SDK's unsigned order_id in the query", func(t *testing.T) {
		p := "/api/v1/miniapp/orders/sig_a"
		f := map[string]any{"timestamp": "1704110460"}
		sig := ksign.VIPSign(testToken, p, f)
		status, body := e.rawVIP(http.MethodGet, p, nil, "timestamp=1704110460&order_id=sig_a&signature="+sig)
		if status != http.StatusOK {
			t.Errorf("status %d, body %v", status, body)
		}
	})
}

func TestVIPMountedUnderPrefix(t *testing.T) {
	check := func(t *testing.T, e *env, signPath string) {
		t.Helper()
		status, body := e.vipCallSigned(http.MethodPost, "/api/v1/redirect/orders", signPath, redirectFields("m_"+strings.ReplaceAll(signPath, "/", "_"), 100))
		if status != http.StatusOK {
			t.Fatalf("status = %d: %v", status, body)
		}
		// vipCallSigned verified the answer with signPath, the prefix that verified.
		if ref, _ := body["reference"].(string); !strings.HasPrefix(ref, e.srv.URL+"/sandbox/ua?order_uuid=") {
			t.Errorf("reference = %q, want the checkout under the mount", ref)
		}
	}
	t.Run("http.StripPrefix", func(t *testing.T) {
		e := MustEnvAt(t, "/sandbox")
		check(t, e, "/api/v1/redirect/orders")
		check(t, e, "/sandbox/api/v1/redirect/orders")
		status, _ := e.vipCallSigned(http.MethodPost, "/api/v1/redirect/orders", "/other/api/v1/redirect/orders", redirectFields("m_x", 100))
		if status != http.StatusUnauthorized {
			t.Errorf("signature over another path: status %d, want 401", status)
		}
	})
	t.Run("prefix from PublicURL", func(t *testing.T) {
		var e *env
		mux := http.NewServeMux()
		e = MustEnv(t, func(c *sandbox.Config) { c.PublicURL = "http://placeholder/sandbox" })
		// Serve the same sandbox at /sandbox/ without stripping; PublicURL names the prefix.
		mux.Handle("/sandbox/", e.sb)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		f := redirectFields("pub_1", 100)
		f["timestamp"] = "1"
		f["signature"] = ksign.VIPSign(testToken, "/api/v1/redirect/orders", f)
		b, _ := json.Marshal(f)
		resp, err := http.Post(srv.URL+"/sandbox/api/v1/redirect/orders", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		body := MustDecode(t, rb)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, rb)
		}
		if err := ksign.VIPVerify(testToken, "/api/v1/redirect/orders", body, body["signature"].(string)); err != nil {
			t.Errorf("answer not signed with the verifying prefix: %v", err)
		}
		if ref := body["reference"].(string); !strings.HasPrefix(ref, "http://placeholder/sandbox/ua?order_uuid=") {
			t.Errorf("reference = %q", ref)
		}
	})
}

func TestVIPOrders(t *testing.T) {
	e := MustEnv(t)
	create := func(kind string, f map[string]any) (int, map[string]any) {
		t.Helper()
		return e.vipCall(http.MethodPost, "/api/v1/"+kind+"/orders", f)
	}
	query := func(kind, id string) map[string]any {
		t.Helper()
		st, b := e.vipCall(http.MethodGet, "/api/v1/"+kind+"/orders/"+id, map[string]any{"mid": testMid})
		if st != http.StatusOK {
			t.Fatalf("query %s: %d %v", id, st, b)
		}
		return b
	}
	orderFields := []string{"acquirer", "acquirer_order_id", "amount", "api_name", "channel", "channel_order_id", "cleared",
		"currency", "error_code", "error_message", "force_clear", "gateway_order_id", "id", "locked", "merchant_order_id",
		"mid", "note", "order_date", "order_type", "reference", "reserved1", "reserved2", "reserved3", "reserved4", "status",
		"timestamp", "signature"}

	t.Run("redirect", func(t *testing.T) {
		st, b := create("redirect", redirectFields("r_1", 15050))
		if st != http.StatusOK {
			t.Fatalf("%d %v", st, b)
		}
		for _, k := range orderFields {
			if _, ok := b[k]; !ok {
				t.Errorf("order object has no %s", k)
			}
		}
		if b["locked"] != false || b["mid"] != "False" || b["api_name"] != "Redirect" || b["order_type"] != "Sale" {
			t.Errorf("body = %v", b)
		}
		q := query("redirect", "r_1")
		if q["status"] != "Available" || q["error_code"] != "PENDING" || q["error_message"] != "Order is pending on further processing" {
			t.Errorf("unpaid query = %v", q)
		}
		e.mustPay("r_1", "truemoney")
		q = query("redirect", "r_1")
		if q["status"] != "Paid" || q["error_code"] != "SUCCESS" || q["channel"] != "truemoney" || q["acquirer_order_id"] == "" {
			t.Errorf("paid query = %v", q)
		}
	})
	t.Run("redirect validation", func(t *testing.T) {
		f := redirectFields("r_bad", 100)
		f["redirect_url"] = "not a url"
		delete(f, "redirect_url_fail")
		st, b := create("redirect", f)
		if st != http.StatusBadRequest || num(t, b, "code") != 400 || b["name"] != "Bad Request" {
			t.Fatalf("%d %v", st, b)
		}
		d := b["description"].(string)
		if !strings.Contains(d, "BadRequest {'redirect_url': ['Not a valid URL.'], 'redirect_url_fail': ['Missing data for required field.']}") {
			t.Errorf("description = %q", d)
		}
	})
	t.Run("duplicate merchant_order_id", func(t *testing.T) {
		st, b := create("redirect", redirectFields("r_1", 100))
		if st != http.StatusBadRequest || !strings.Contains(b["description"].(string), "Duplicate merchant_order_id") {
			t.Errorf("%d %v", st, b)
		}
	})
	t.Run("unknown order", func(t *testing.T) {
		st, b := e.vipCall(http.MethodGet, "/api/v1/redirect/orders/nope", map[string]any{})
		if st != http.StatusNotFound {
			t.Errorf("%d %v", st, b)
		}
	})
	t.Run("miniapp wechat", func(t *testing.T) {
		st, b := create("miniapp", map[string]any{"merchant_order_id": "mini_1", "amount": 100, "channel": "wechat",
			"miniapp_openid": "o1", "miniapp_appid": "wx1"})
		if st != http.StatusOK || b["api_name"] != "miniAPP" || b["paySign"] == nil || !strings.HasPrefix(b["reference"].(string), "wx") {
			t.Errorf("%d %v", st, b)
		}
	})
	t.Run("app alipay", func(t *testing.T) {
		st, b := create("app", map[string]any{"merchant_order_id": "app_1", "amount": 100, "channel": "alipay", "app_appid": "a1"})
		if st != http.StatusOK || !strings.Contains(b["reference"].(string), "alipay.trade.app.pay") {
			t.Errorf("%d %v", st, b)
		}
	})
	t.Run("bscanc", func(t *testing.T) {
		st, b := create("bscanc", map[string]any{"merchant_order_id": "b_1", "amount": 100, "channel": "truemoney", "auth_code": "123456"})
		if st != http.StatusOK || b["status"] != "Paid" || b["error_code"] != "SUCCESS" || b["api_name"] != "BscanC" {
			t.Errorf("%d %v", st, b)
		}
		st, b = create("bscanc", map[string]any{"merchant_order_id": "b_2", "amount": 100, "channel": "truemoney", "auth_code": "9123"})
		if st != http.StatusOK || b["error_code"] != "FAIL" || b["reserved3"] != "invalid_payment_code" {
			t.Errorf("bad code: %d %v", st, b)
		}
		st, b = create("bscanc", map[string]any{"merchant_order_id": "b_3", "amount": 100, "channel": "truemoney"})
		if st != http.StatusBadRequest || !strings.Contains(b["description"].(string), "'auth_code'") {
			t.Errorf("missing auth_code: %d %v", st, b)
		}
	})
	t.Run("cscanb", func(t *testing.T) {
		st, b := create("cscanb", map[string]any{"merchant_order_id": "c_1", "amount": 100, "channel": "promptpay"})
		if st != http.StatusOK || !strings.HasPrefix(b["reserved1"].(string), "data:image/png;base64,") {
			t.Errorf("%d %.200v", st, b)
		}
		if q := query("cscanb", "c_1"); q["error_message"] != "PENDING" {
			t.Errorf("query = %v", q)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		st, b := e.vipCall(http.MethodDelete, "/api/v1/cscanb/orders/c_1", map[string]any{})
		if st != http.StatusOK || b["status"] != "Closed" {
			t.Errorf("%d %v", st, b)
		}
		st, b = e.vipCall(http.MethodDelete, "/api/v1/redirect/orders/r_1", map[string]any{})
		if st != http.StatusOK || b["error_code"] != "FAIL" || b["status"] != "Paid" {
			t.Errorf("cancel paid: %d %v", st, b)
		}
	})
	t.Run("unknown mid", func(t *testing.T) {
		f := redirectFields("r_mid", 100)
		f["mid"] = "mch99999"
		if st, b := create("redirect", f); st != http.StatusForbidden {
			t.Errorf("%d %v", st, b)
		}
	})
}

func TestVIPRefunds(t *testing.T) {
	e := MustEnv(t)
	pay := func(id, ch string) {
		t.Helper()
		if st, b := e.vipCall(http.MethodPost, "/api/v1/redirect/orders", redirectFields(id, 10000)); st != http.StatusOK {
			t.Fatalf("%d %v", st, b)
		}
		e.mustPay(id, ch)
	}
	refund := func(id, refID string, amount int) (int, map[string]any) {
		t.Helper()
		return e.vipCall(http.MethodPut, "/api/v1/redirect/orders/"+id, map[string]any{"refund_order_id": refID, "refund_amount": amount})
	}
	pay("o_pp", "promptpay")
	pay("o_tm", "truemoney")

	st, b := refund("o_tm", "rf_1", 4000)
	if st != http.StatusOK || b["order_type"] != "Refund" || b["status"] != "Refunded" || b["error_code"] != "REFUNDED" ||
		num(t, b, "amount") != -4000 || b["reference"] != "o_tm" || b["merchant_order_id"] != "rf_1" || b["api_name"] != "general" {
		t.Fatalf("refund: %d %v", st, b)
	}
	if b["log_entry_url"] == nil {
		t.Error("refund answer has no log_entry_url")
	}
	firstID := b["id"]
	// Replay: the same record, no second refund.
	st, b = refund("o_tm", "rf_1", 4000)
	if st != http.StatusOK || b["id"] != firstID {
		t.Errorf("replay: %d %v (want id %v)", st, b, firstID)
	}
	if st, b = refund("o_tm", "rf_1", 100); st != http.StatusBadRequest {
		t.Errorf("same refund id, other amount: %d %v", st, b)
	}
	if st, b = refund("o_tm", "rf_2", 6001); st != http.StatusOK || b["error_code"] != "FAIL" {
		t.Errorf("over-refund: %d %v", st, b)
	}
	if st, b = refund("o_pp", "rf_3", 5000); st != http.StatusOK || b["error_code"] != "FAIL" || !strings.Contains(b["error_message"].(string), "Partial") {
		t.Errorf("promptpay partial: %d %v", st, b)
	}
	if st, b = refund("o_pp", "rf_4", 10000); st != http.StatusOK || b["error_code"] != "REFUNDED" {
		t.Errorf("promptpay full: %d %v", st, b)
	}
	// The order now reads Refunded; the refund record can be queried by its id.
	_, q := e.vipCall(http.MethodGet, "/api/v1/redirect/orders/o_tm", map[string]any{})
	if q["status"] != "Refunded" || q["error_message"] != "The order is refunded, either fully or partially." {
		t.Errorf("order after refund = %v", q)
	}
	_, q = e.vipCall(http.MethodGet, "/api/v1/redirect/orders/rf_1", map[string]any{})
	if q["order_type"] != "Refund" || q["id"] != firstID {
		t.Errorf("refund record = %v", q)
	}
	if st, b = refund("nope", "rf_5", 1); st != http.StatusNotFound {
		t.Errorf("unknown order: %d %v", st, b)
	}
	if st, b = e.vipCall(http.MethodPut, "/api/v1/redirect/orders/o_tm", map[string]any{"refund_amount": 1}); st != http.StatusBadRequest {
		t.Errorf("missing refund_order_id: %d %v", st, b)
	}
}

func TestVIPFinance(t *testing.T) {
	e := MustEnv(t)
	for i, amount := range []int{50000, 30000} {
		id := "f_" + string(rune('a'+i))
		e.vipCall(http.MethodPost, "/api/v1/redirect/orders", map[string]any{"merchant_order_id": id, "amount": amount, "mid": testMid,
			"redirect_url": "https://s.example/ok", "redirect_url_fail": "https://s.example/fail"})
		e.mustPay(id, "promptpay")
	}
	e.vipCall(http.MethodPut, "/api/v1/redirect/orders/f_b", map[string]any{"refund_order_id": "f_rf", "refund_amount": 30000})
	day := e.clock.Now().In(gateway.ICT).Format("20060102")
	e.clock.Advance(24 * time.Hour)

	st, b := e.vipCall(http.MethodGet, "/api/v1/finance/settlements/channels", map[string]any{"mid": "35618"})
	if st != http.StatusOK || b["error_code"] != "SUCCESS" || b["mid"] != "35618" {
		t.Fatalf("channels: %d %v", st, b)
	}
	if ch, _ := b["data"].(map[string]any)["channels"].([]any); len(ch) == 0 {
		t.Errorf("channels = %v", b["data"])
	}
	st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/channels", map[string]any{"mid": "99999"})
	if st != http.StatusOK || b["error_code"] != "UNKNOWN" || !strings.Contains(b["error_message"].(string), "NOT allowed mid") {
		t.Errorf("foreign mid: %d %v", st, b)
	}

	st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/order/"+day, map[string]any{"mid": testMid, "offset": 0, "limit": 2})
	if st != http.StatusOK {
		t.Fatalf("transactions: %d %v", st, b)
	}
	data := b["data"].(map[string]any)
	rows := data["data"].([]any)
	if num(t, data, "total") != 3 || len(rows) != 2 {
		t.Errorf("total = %v, rows = %d; want 3 and a page of 2", data["total"], len(rows))
	}
	first := rows[0].(map[string]any)
	for _, k := range []string{"amount", "transaction_time", "type", "channel", "device_id", "operator_id", "operator_name", "currency", "order_id", "ksher_order_id"} {
		if _, ok := first[k]; !ok {
			t.Errorf("transaction row has no %s", k)
		}
	}
	_, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/order/"+day, map[string]any{"mid": testMid, "offset": 2, "limit": 50})
	last := b["data"].(map[string]any)["data"].([]any)[0].(map[string]any)
	if last["type"] != "REFUND" || num(t, last, "amount") != -30000 {
		t.Errorf("refund row = %v", last)
	}
	if st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/order/"+day, map[string]any{"offset": 0, "limit": 2}); st != http.StatusBadRequest {
		t.Errorf("missing mid: %d %v", st, b)
	}

	st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/"+day, map[string]any{"mid": testMid, "channel": "promptpay"})
	if st != http.StatusOK {
		t.Fatalf("summary: %d %v", st, b)
	}
	s := b["data"].(map[string]any)
	// gross 80000, refund 30000, MDR 0.8 % = 640, VAT 45 (44.8), net 49315.
	for k, want := range map[string]int64{"amount": 80000, "refund": 30000, "fee": 640, "other_fee": 45, "net": 49315, "transfer_amount": 49315, "count": 2} {
		if got := num(t, s, k); got != want {
			t.Errorf("summary %s = %d, want %d", k, got, want)
		}
	}
	if st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/"+day, map[string]any{"mid": testMid}); st != http.StatusBadRequest {
		t.Errorf("missing channel: %d %v", st, b)
	}

	st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/settlement_order", map[string]any{"reference_id": s["reference_id"], "offset": 0, "limit": 10})
	if st != http.StatusOK || num(t, b["data"].(map[string]any), "total") != 3 {
		t.Errorf("settlement_order: %d %v", st, b)
	}
}

// TestVIPSummaryOfADayWithoutSettlement: the summary of a day on which
// nothing was settled (no payment on the channel, or the day is not over)
// must not hand out a reference_id that settlement_order then does not
// know; it carries no reference at all.
func TestVIPSummaryOfADayWithoutSettlement(t *testing.T) {
	e := MustEnv(t)
	e.vipCall(http.MethodPost, "/api/v1/redirect/orders", map[string]any{"merchant_order_id": "ns_a", "amount": 50000, "mid": testMid,
		"redirect_url": "https://s.example/ok", "redirect_url_fail": "https://s.example/fail"})
	e.mustPay("ns_a", "promptpay")
	today := e.clock.Now().In(gateway.ICT)
	e.clock.Advance(24 * time.Hour)
	cases := map[string][2]string{
		"day without payments":     {today.AddDate(0, 0, -5).Format("20060102"), "promptpay"},
		"channel without payments": {today.Format("20060102"), "truemoney"},
		"day not over yet":         {today.AddDate(0, 0, 1).Format("20060102"), "promptpay"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			st, b := e.vipCall(http.MethodGet, "/api/v1/finance/settlements/"+c[0], map[string]any{"mid": testMid, "channel": c[1]})
			if st != http.StatusOK || b["error_code"] != "SUCCESS" {
				t.Fatalf("summary: %d %v", st, b)
			}
			s := b["data"].(map[string]any)
			if num(t, s, "amount") != 0 || num(t, s, "count") != 0 {
				t.Errorf("summary of an empty day = %v", s)
			}
			ref, _ := s["reference_id"].(string)
			if ref != "" {
				st, b := e.vipCall(http.MethodGet, "/api/v1/finance/settlements/settlement_order", map[string]any{"reference_id": ref, "offset": 0, "limit": 10})
				t.Errorf("reference_id = %q for a day without settlement; settlement_order answers %d %v", ref, st, b)
			}
		})
	}
	// The settled day keeps its reference, and settlement_order knows it.
	st, b := e.vipCall(http.MethodGet, "/api/v1/finance/settlements/"+today.Format("20060102"), map[string]any{"mid": testMid, "channel": "promptpay"})
	ref, _ := b["data"].(map[string]any)["reference_id"].(string)
	if st != http.StatusOK || ref == "" {
		t.Fatalf("settled day: %d %v", st, b)
	}
	if st, b = e.vipCall(http.MethodGet, "/api/v1/finance/settlements/settlement_order", map[string]any{"reference_id": ref, "offset": 0, "limit": 10}); st != http.StatusOK {
		t.Errorf("settlement_order %s: %d %v", ref, st, b)
	}
}

// TestVIPForeignMidOnOrderAPIs: a mid the token may not use is refused
// with 403 on every order API (README, UNCONFIRMED choice 10), not only on
// create: a refund or cancel under a foreign mid changes nothing.
func TestVIPForeignMidOnOrderAPIs(t *testing.T) {
	e := MustEnv(t)
	st, b := e.vipCall(http.MethodPost, "/api/v1/redirect/orders", redirectFields("fm_1", 10000))
	if st != http.StatusOK {
		t.Fatalf("create: %d %v", st, b)
	}
	e.mustPay("fm_1", "truemoney")
	calls := []struct {
		name, method string
		fields       map[string]any
	}{
		{"query", http.MethodGet, map[string]any{}},
		{"refund", http.MethodPut, map[string]any{"refund_order_id": "fm_rf", "refund_amount": 100}},
		{"cancel", http.MethodDelete, map[string]any{}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			c.fields["mid"] = "mch99999"
			if st, b := e.vipCall(c.method, "/api/v1/redirect/orders/fm_1", c.fields); st != http.StatusForbidden {
				t.Errorf("%s with a foreign mid: %d %v, want 403", c.name, st, b)
			}
		})
	}
	for _, o := range e.sb.Orders() {
		if o.MchOrderNo == "fm_1" && len(o.Refunds) != 0 {
			t.Errorf("refunds made under a foreign mid: %d", len(o.Refunds))
		}
	}
	// The configured mids, with or without the mch prefix, still work.
	if st, b := e.vipCall(http.MethodGet, "/api/v1/redirect/orders/fm_1", map[string]any{"mid": "35618"}); st != http.StatusOK {
		t.Errorf("query with the bare mid number: %d %v", st, b)
	}
}
