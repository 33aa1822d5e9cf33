package sandbox_test

import (
	"bytes"
	"encoding/json"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func flipChar(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}

func TestV3RequestSignature(t *testing.T) {
	e := MustEnv(t)
	query := map[string]string{"mch_order_no": "NOPE-1"}
	tests := []struct {
		name   string
		mutate func(url.Values) url.Values
		get    bool
		want   string
	}{
		{name: "valid", mutate: func(v url.Values) url.Values { return v }, want: "KSHER_INVALID_ORDER_NO"},
		{name: "one char changed", mutate: func(v url.Values) url.Values { v.Set("sign", flipChar(v.Get("sign"))); return v }, want: "SIGNERROR"},
		{name: "field changed after signing", mutate: func(v url.Values) url.Values { v.Set("mch_order_no", "NOPE-2"); return v }, want: "SIGNERROR"},
		{name: "missing sign", mutate: func(v url.Values) url.Values { v.Del("sign"); return v }, want: "SIGNERROR"},
		{name: "not hex", mutate: func(v url.Values) url.Values { v.Set("sign", "zz"); return v }, want: "SIGNERROR"},
		{name: "upper-case hex (.NET SDK)", mutate: func(v url.Values) url.Values { v.Set("sign", strings.ToUpper(v.Get("sign"))); return v }, want: "KSHER_INVALID_ORDER_NO"},
		{name: "GET with query string (Python SDK)", get: true, mutate: func(v url.Values) url.Values { return v }, want: "KSHER_INVALID_ORDER_NO"},
		{name: "unknown appid", mutate: func(v url.Values) url.Values { v.Set("appid", "mch99999"); return v }, want: "KSHER_INVALID_APPID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := map[string]string{}
			for k, v := range query {
				f[k] = v
			}
			vals := tt.mutate(e.signV3(f))
			var resp *http.Response
			var b []byte
			if tt.get {
				r, err := http.Get(e.url("/KsherPay/order_query") + "?" + vals.Encode())
				if err != nil {
					t.Fatal(err)
				}
				b, _ = io.ReadAll(r.Body)
				r.Body.Close()
				resp = r
			} else {
				resp, b = e.v3Post("order_query", vals)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			env := MustDecode(t, b)
			e.checkV3Envelope("order_query", env)
			data := env["data"].(map[string]any)
			if data["err_code"] != tt.want || data["result"] != "FAIL" {
				t.Errorf("data = %v, want err_code %s and result FAIL", data, tt.want)
			}
			if data["nonce_str"] != vals.Get("nonce_str") {
				t.Errorf("nonce_str = %v, want the request's", data["nonce_str"])
			}
		})
	}
}

// gatewayPay creates a hosted-checkout order and returns its pay_content.
func (e *env) gatewayPay(no string, amount string, extra map[string]string) string {
	e.t.Helper()
	f := map[string]string{
		"mch_order_no": no, "total_fee": amount, "fee_type": "THB", "channel_list": "promptpay,truemoney,card",
		"mch_code": no, "mch_redirect_url": "https://shop.example.com/ok", "mch_redirect_url_fail": "https://shop.example.com/fail",
		"product_name": "Test product", "refer_url": "https://shop.example.com",
	}
	for k, v := range extra {
		f[k] = v
	}
	_, data := e.v3("gateway_pay", f)
	pc, _ := data["pay_content"].(string)
	if !strings.Contains(pc, "/ua?order_uuid=") {
		e.t.Fatalf("pay_content = %q", pc)
	}
	return pc
}

// mustPay pays an order through the control API's Go twin.
func (e *env) mustPay(id, channel string) {
	e.t.Helper()
	if err := e.sb.Pay(id, channel); err != nil {
		e.t.Fatal(err)
	}
}

func TestV3Operations(t *testing.T) {
	e := MustEnv(t)
	wantKeys := func(t *testing.T, op string, data map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := data[k]; !ok {
				t.Errorf("%s: data has no %s: %v", op, k, data)
			}
		}
	}
	base := func(no, ch string) map[string]string {
		return map[string]string{"mch_order_no": no, "total_fee": "1000", "fee_type": "THB", "channel": ch}
	}

	t.Run("quick_pay", func(t *testing.T) {
		f := base("QP-1", "truemoney")
		f["auth_code"] = "1234567890"
		_, d := e.v3("quick_pay", f)
		if d["result"] != "SUCCESS" || d["operation"] != "QUICK-PAY" {
			t.Errorf("data = %v", d)
		}
		wantKeys(t, "quick_pay", d, "appid", "cash_fee", "channel_order_no", "ksher_order_no", "time_end", "total_fee")
		if ko, _ := d["ksher_order_no"].(string); !strings.HasPrefix(ko, "9002024") || len(ko) != 23 {
			t.Errorf("ksher_order_no = %q, want 900+yyyyMMddHHmmss+6 digits", ko)
		}
	})
	t.Run("quick_pay bad code", func(t *testing.T) {
		f := base("QP-2", "wechat")
		f["auth_code"] = "9000000000"
		_, d := e.v3("quick_pay", f)
		if d["result"] != "FAIL" || d["err_code"] != "AUTH_CODE_INVALID" {
			t.Errorf("data = %v", d)
		}
	})
	t.Run("quick_pay waiting for PIN", func(t *testing.T) {
		f := base("QP-3", "alipay")
		f["auth_code"] = "8000000000"
		_, d := e.v3("quick_pay", f)
		if d["result"] != "NOTSURE" || d["err_code"] != "PAYMENT_IN_PROCESS" {
			t.Fatalf("data = %v", d)
		}
		_, q := e.v3("order_query", map[string]string{"mch_order_no": "QP-3"})
		if q["result"] != "USERPAYING" {
			t.Errorf("query result = %v, want USERPAYING", q["result"])
		}
		e.clock.Advance(31 * time.Second)
		_, q = e.v3("order_query", map[string]string{"mch_order_no": "QP-3"})
		if q["result"] != "SUCCESS" {
			t.Errorf("after the PIN: result = %v, want SUCCESS", q["result"])
		}
	})
	t.Run("quick_pay never finishes, then reverse", func(t *testing.T) {
		f := base("QP-4", "airpay")
		f["auth_code"] = "8800000000"
		e.v3("quick_pay", f)
		e.clock.Advance(time.Minute)
		_, q := e.v3("order_query", map[string]string{"mch_order_no": "QP-4"})
		if q["result"] != "USERPAYING" {
			t.Errorf("result = %v, want USERPAYING", q["result"])
		}
		_, r := e.v3("order_reverse", map[string]string{"mch_order_no": "QP-4", "channel": "airpay"})
		if r["result"] != "SUCCESS" {
			t.Errorf("reverse = %v", r)
		}
		e.clock.Advance(11 * time.Second)
		_, q = e.v3("order_query", map[string]string{"mch_order_no": "QP-4"})
		if q["result"] != "CLOSED" {
			t.Errorf("after reverse: result = %v, want CLOSED", q["result"])
		}
	})
	t.Run("native_pay", func(t *testing.T) {
		_, d := e.v3("native_pay", base("NP-1", "promptpay"))
		wantKeys(t, "native_pay", d, "PaymentCode", "PaymentID", "appid", "code_url", "device_id", "fee_type", "imgdat",
			"ksher_order_no", "mch_order_no", "nonce_str", "result", "stalls_name", "total_fee", "trade_type")
		if d["trade_type"] != "NATIVE" || !strings.HasPrefix(d["imgdat"].(string), "data:image/png;base64,") {
			t.Errorf("trade_type = %v, imgdat = %.40v", d["trade_type"], d["imgdat"])
		}
		if d["PaymentCode"] != d["code_url"] || !strings.HasPrefix(d["code_url"].(string), "000201") {
			t.Errorf("code_url = %v", d["code_url"])
		}
	})
	for _, op := range []string{"jsapi_pay", "mini_program_pay", "app_pay", "wap_pay", "web_pay"} {
		t.Run(op, func(t *testing.T) {
			f := base("X-"+op, "wechat")
			f["sub_openid"], f["channel_sub_appid"] = "openid-1", "wx123"
			_, d := e.v3(op, f)
			if d["result"] != "SUCCESS" {
				t.Fatalf("data = %v", d)
			}
			wantKeys(t, op, d, "ksher_order_no", "mch_order_no", "pay_content", "trade_type")
		})
	}
	t.Run("mini_program_pay needs sub_openid", func(t *testing.T) {
		_, d := e.v3("mini_program_pay", base("X-mini-2", "wechat"))
		if d["err_code"] != "PARAM_ERROR" {
			t.Errorf("data = %v", d)
		}
	})
	t.Run("order_query", func(t *testing.T) {
		e.mustPay("NP-1", "")
		e.clock.Advance(11 * time.Second)
		_, d := e.v3("order_query", map[string]string{"mch_order_no": "NP-1"})
		wantKeys(t, "order_query", d, "appid", "attach", "cash_fee", "cash_fee_type", "channel", "channel_order_no",
			"consumer_remark", "device_id", "fee_type", "ksher_order_no", "mch_order_no", "merchant_remark", "nonce_str",
			"openid", "operation", "operator_id", "rate", "raw_total_fee", "result", "time_end", "total_fee")
		if d["result"] != "SUCCESS" || d["operation"] != "ORDER-QUERY" || num(t, d, "total_fee") != 1000 {
			t.Errorf("data = %v", d)
		}
		ko := d["ksher_order_no"].(string)
		e.clock.Advance(11 * time.Second)
		_, byKsher := e.v3("order_query", map[string]string{"ksher_order_no": ko})
		if byKsher["mch_order_no"] != "NP-1" {
			t.Errorf("by ksher_order_no: %v", byKsher)
		}
		e.clock.Advance(11 * time.Second)
		_, byChannel := e.v3("order_query", map[string]string{"channel_order_no": d["channel_order_no"].(string)})
		if byChannel["mch_order_no"] != "NP-1" {
			t.Errorf("by channel_order_no: %v", byChannel)
		}
	})
	t.Run("order_close", func(t *testing.T) {
		e.v3("native_pay", base("NP-2", "promptpay"))
		_, d := e.v3("order_close", map[string]string{"mch_order_no": "NP-2", "channel": "promptpay"})
		if d["result"] != "SUCCESS" || d["mch_order_no"] != "NP-2" {
			t.Errorf("data = %v", d)
		}
		_, d = e.v3("order_close", map[string]string{"mch_order_no": "NP-1"})
		if d["err_code"] != "KSHER_ORDER_STATUS_ERROR" {
			t.Errorf("closing a paid order: %v", d)
		}
		if err := e.sb.Pay("NP-2", ""); err == nil {
			t.Error("a closed order was paid")
		}
	})
	t.Run("order_refund and refund_query", func(t *testing.T) {
		f := base("QP-R", "truemoney")
		f["auth_code"] = "123"
		e.v3("quick_pay", f)
		_, d := e.v3("order_refund", map[string]string{"mch_order_no": "QP-R", "mch_refund_no": "RF-1", "total_fee": "1000", "refund_fee": "400", "fee_type": "THB"})
		wantKeys(t, "order_refund", d, "ksher_refund_no", "mch_refund_no", "channel_refund_no", "refund_fee", "total_fee")
		if kr, _ := d["ksher_refund_no"].(string); !strings.HasPrefix(kr, "700") || len(kr) != 23 {
			t.Errorf("ksher_refund_no = %v", d["ksher_refund_no"])
		}
		_, q := e.v3("refund_query", map[string]string{"mch_order_no": "QP-R", "mch_refund_no": "RF-1"})
		if q["refund_count"] != "1" || q["refund_fee"] != "400" {
			t.Errorf("refund_query = %v", q)
		}
		rows, _ := q["refund_orders"].([]any)
		if len(rows) != 1 || rows[0].(map[string]any)["refund_state"] != "REFUNDSUCCESS" {
			t.Errorf("refund_orders = %v", q["refund_orders"])
		}
	})
	t.Run("rate_query", func(t *testing.T) {
		_, d := e.v3("rate_query", map[string]string{"channel": "wechat", "fee_type": "THB", "date": "2024-01-03"})
		if d["result"] != "SUCCESS" || d["rate"] == "" {
			t.Errorf("data = %v", d)
		}
		_, d = e.v3("rate_query", map[string]string{"channel": "wechat", "fee_type": "THB", "date": "03/01/2024"})
		if d["err_code"] != "PARAM_ERROR" {
			t.Errorf("bad date: %v", d)
		}
	})
	t.Run("merchant_info", func(t *testing.T) {
		_, d := e.v3("merchant_info", map[string]string{})
		if len(d) != 33 {
			t.Errorf("merchant_info has %d fields, want 33", len(d))
		}
		if d["mch_id"] != "35000" || d["allow_partial_refund"] != "Y" || d["account_type"] != "Test" {
			t.Errorf("data = %v", d)
		}
	})
	t.Run("get_settlement_info", func(t *testing.T) {
		_, d := e.v3("get_settlement_info", map[string]string{"mch_appid": testAppID, "begin_date": "2024-01-01", "end_date": "2024-01-31"})
		if _, ok := d["settlement_data"].([]any); !ok {
			t.Errorf("settlement_data = %#v", d["settlement_data"])
		}
	})
	t.Run("gateway_pay, query, cancel", func(t *testing.T) {
		pc := e.gatewayPay("GW-1", "2500", nil)
		if !strings.HasPrefix(pc, e.srv.URL+"/ua?order_uuid=") || !strings.HasSuffix(pc, "&lang=en") {
			t.Errorf("pay_content = %q", pc)
		}
		_, d := e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-1"})
		wantKeys(t, "gateway_order_query", d, "appid", "attach", "cash_fee", "cash_fee_type", "channel", "channel_order_no",
			"fee_type", "ksher_order_no", "mch_order_no", "nonce_str", "openid", "pay_mch_order_no", "rate", "result", "time_end", "total_fee")
		if d["result"] != "NOTSURE" || d["cash_fee"] != "" || d["pay_mch_order_no"] == "" {
			t.Errorf("unpaid data = %v", d)
		}
		_, c := e.v3("cancel_order", map[string]string{"mch_order_no": "GW-1", "lang": "en"})
		if c["result"] != "SUCCESS" {
			t.Errorf("cancel = %v", c)
		}
		_, d = e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-1"})
		if d["result"] != "CLOSED" {
			t.Errorf("after cancel: result = %v", d["result"])
		}
	})
	t.Run("payout", func(t *testing.T) {
		_, b := e.v3("get_payout_balance", map[string]string{"fee_type": "THB"})
		before := num(t, b, "balance")
		_, d := e.v3("payout", map[string]string{"mch_order_no": "PO-1", "total_fee": "5000", "fee_type": "THB", "receiver_name": "Somchai"})
		if d["trade_type"] != "PAYOUT" || d["result"] != "SUCCESS" {
			t.Errorf("payout = %v", d)
		}
		_, q := e.v3("order_query_payout", map[string]string{"mch_order_no": "PO-1", "channel": "payout"})
		if q["channel"] != "payout" || q["result"] != "SUCCESS" {
			t.Errorf("order_query_payout = %v", q)
		}
		_, b = e.v3("get_payout_balance", map[string]string{"fee_type": "THB"})
		if got := before - num(t, b, "balance"); got != 5000+num(t, d, "mdr") {
			t.Errorf("balance went down by %d", got)
		}
	})
}

func TestV3QueryRateLimit(t *testing.T) {
	e := MustEnv(t)
	e.gatewayPay("GW-RL", "100", nil)
	e.v3("native_pay", map[string]string{"mch_order_no": "RL-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
	q := map[string]string{"mch_order_no": "RL-1"}
	if _, d := e.v3("order_query", q); d["result"] != "NOTSURE" {
		t.Fatalf("first query: %v", d)
	}
	e.clock.Advance(9 * time.Second)
	if _, d := e.v3("order_query", map[string]string{"mch_order_no": "RL-1"}); d["err_code"] != "KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS" {
		t.Errorf("query after 9 s: %v, want KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS", d)
	}
	e.clock.Advance(time.Second)
	if _, d := e.v3("order_query", map[string]string{"mch_order_no": "RL-1"}); d["result"] != "NOTSURE" {
		t.Errorf("query after 10 s: %v", d)
	}
	// Another order is not limited by the first one.
	e.v3("native_pay", map[string]string{"mch_order_no": "RL-2", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
	if _, d := e.v3("order_query", map[string]string{"mch_order_no": "RL-2"}); d["result"] != "NOTSURE" {
		t.Errorf("other order: %v", d)
	}
}

func TestV3Uniqueness(t *testing.T) {
	e := MustEnv(t)
	f := func() map[string]string {
		return map[string]string{"mch_order_no": "U-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"}
	}
	if _, d := e.v3("native_pay", f()); d["result"] != "SUCCESS" {
		t.Fatalf("first: %v", d)
	}
	if _, d := e.v3("native_pay", f()); d["err_code"] != "KSHER_DUPLICATE_ORDER_NO" {
		t.Errorf("duplicate: %v", d)
	}
	// Another appid has its own numbers.
	e2 := MustEnv(t, func(c *sandbox.Config) { c.AppIDs["mch35001"] = c.AppIDs[testAppID] })
	g := f()
	g["appid"] = "mch35001"
	e2.v3("native_pay", f())
	if _, d := e2.v3("native_pay", g); d["result"] != "SUCCESS" {
		t.Errorf("same number for another appid: %v", d)
	}
}

func refund(e *env, order, no, total, fee string) map[string]any {
	e.t.Helper()
	_, d := e.v3("order_refund", map[string]string{"mch_order_no": order, "mch_refund_no": no, "total_fee": total, "refund_fee": fee, "fee_type": "THB"})
	return d
}

func TestV3RefundRules(t *testing.T) {
	e := MustEnv(t)
	pay := func(no, ch string) {
		t.Helper()
		e.v3("native_pay", map[string]string{"mch_order_no": no, "total_fee": "1000", "fee_type": "THB", "channel": ch})
		e.mustPay(no, ch)
	}
	pay("PP-1", "promptpay")
	pay("TM-1", "truemoney")
	e.v3("native_pay", map[string]string{"mch_order_no": "UNPAID", "total_fee": "1000", "fee_type": "THB", "channel": "promptpay"})

	tests := []struct {
		name, order, no, total, fee string
		want                        string // err_code, or "" for success
	}{
		{"unpaid order", "UNPAID", "R-0", "1000", "1000", "KSHER_ORDER_NOT_PAID"},
		{"unknown order", "NOPE", "R-00", "1000", "1000", "KSHER_INVALID_ORDER_NO"},
		{"promptpay partial refused", "PP-1", "R-1", "1000", "400", "KSHER_PARTIAL_REFUND_NOT_ALLOWED"},
		{"promptpay full", "PP-1", "R-2", "1000", "1000", ""},
		{"promptpay twice", "PP-1", "R-3", "1000", "1000", "KSHER_REFUND_AMOUNT_EXCEEDED"},
		{"truemoney partial", "TM-1", "R-4", "1000", "600", ""},
		{"over-refund", "TM-1", "R-5", "1000", "401", "KSHER_REFUND_AMOUNT_EXCEEDED"},
		{"wrong total_fee", "TM-1", "R-6", "999", "100", "PARAM_ERROR"},
		{"replay same no, same amount", "TM-1", "R-4", "1000", "600", ""},
		{"replay same no, other amount", "TM-1", "R-4", "1000", "300", "KSHER_DUPLICATE_REFUND_NO"},
		{"refund no used on another order", "PP-1", "R-4", "1000", "600", "KSHER_DUPLICATE_REFUND_NO"},
		{"rest of truemoney", "TM-1", "R-7", "1000", "400", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := refund(e, tt.order, tt.no, tt.total, tt.fee)
			if tt.want == "" {
				if d["result"] != "SUCCESS" {
					t.Errorf("data = %v, want SUCCESS", d)
				}
				return
			}
			if d["err_code"] != tt.want {
				t.Errorf("err_code = %v, want %s (%v)", d["err_code"], tt.want, d["err_msg"])
			}
		})
	}
	// The replay returned the first refund, and nothing was refunded twice.
	_, q := e.v3("refund_query", map[string]string{"mch_order_no": "TM-1"})
	if q["refund_count"] != "2" || q["refund_fee"] != "1000" {
		t.Errorf("refund_query = %v, want 2 refunds of 1000 in all", q)
	}
	_, o := e.v3("order_query", map[string]string{"mch_order_no": "TM-1"})
	if o["result"] != "REFUND" {
		t.Errorf("order result = %v, want REFUND", o["result"])
	}
	// PromptPay has no refund_query (API.md A.7).
	_, q = e.v3("refund_query", map[string]string{"mch_order_no": "PP-1", "mch_refund_no": "R-2"})
	if q["err_code"] != "KSHER_REFUND_QUERY_NOT_SUPPORTED" {
		t.Errorf("promptpay refund_query = %v", q)
	}

	t.Run("merchant without partial refunds", func(t *testing.T) {
		e.sb.SetAllowPartialRefund(testAppID, false)
		defer e.sb.SetAllowPartialRefund(testAppID, true)
		pay("TM-2", "truemoney")
		if d := refund(e, "TM-2", "R-8", "1000", "100"); d["err_code"] != "KSHER_PARTIAL_REFUND_NOT_ALLOWED" {
			t.Errorf("data = %v", d)
		}
		_, mi := e.v3("merchant_info", map[string]string{})
		if mi["allow_partial_refund"] != "N" {
			t.Errorf("allow_partial_refund = %v", mi["allow_partial_refund"])
		}
	})
	t.Run("gateway_pay orders refund through pay_mch_order_no", func(t *testing.T) {
		e.gatewayPay("GW-R", "1000", nil)
		e.mustPay("GW-R", "truemoney")
		_, g := e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-R"})
		if g["result"] != "SUCCESS" {
			t.Fatalf("gateway order = %v", g)
		}
		if d := refund(e, "GW-R", "R-9", "1000", "100"); d["err_code"] != "KSHER_INVALID_ORDER_NO" {
			t.Errorf("refund by the gateway mch_order_no = %v, want KSHER_INVALID_ORDER_NO", d)
		}
		if d := refund(e, g["pay_mch_order_no"].(string), "R-9", "1000", "100"); d["result"] != "SUCCESS" {
			t.Errorf("refund by pay_mch_order_no = %v", d)
		}
		_, d := e.v3("order_refund", map[string]string{"ksher_order_no": g["ksher_order_no"].(string), "mch_refund_no": "R-10",
			"total_fee": "1000", "refund_fee": "100", "fee_type": "THB"})
		if d["result"] != "SUCCESS" {
			t.Errorf("refund by ksher_order_no = %v", d)
		}
		_, g = e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-R"})
		if g["result"] != "REFUND" {
			t.Errorf("gateway order after refunds: %v", g["result"])
		}
	})
}

func TestV3ConcurrentRefunds(t *testing.T) {
	e := MustEnv(t)
	e.v3("native_pay", map[string]string{"mch_order_no": "C-1", "total_fee": "1000", "fee_type": "THB", "channel": "truemoney"})
	e.mustPay("C-1", "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 50 {
		vals := e.signV3(map[string]string{"mch_order_no": "C-1", "mch_refund_no": "CR-" + string(rune('A'+i%26)) + string(rune('a'+i/26)),
			"total_fee": "1000", "refund_fee": "300", "fee_type": "THB"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.PostForm(e.url("/KsherPay/order_refund"), vals)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if MustDecode(t, b)["data"].(map[string]any)["result"] == "SUCCESS" {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 3 {
		t.Errorf("%d refunds of 300 succeeded on a 1000 order, want 3", ok)
	}
}

func TestV3MultipartAndJSONBodies(t *testing.T) {
	e := MustEnv(t)
	vals := e.signV3(map[string]string{"mch_order_no": "NOPE"})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k := range vals {
		mw.WriteField(k, vals.Get(k))
	}
	mw.Close()
	resp, err := http.Post(e.url("/KsherPay/order_query"), mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := MustDecode(t, b)["data"].(map[string]any); d["err_code"] != "KSHER_INVALID_ORDER_NO" {
		t.Errorf("multipart: %v", d)
	}
	m := map[string]string{}
	for k := range vals {
		m[k] = vals.Get(k)
	}
	js, _ := json.Marshal(m)
	resp, err = http.Post(e.url("/KsherPay/order_query"), "application/json", bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := MustDecode(t, b)["data"].(map[string]any); d["err_code"] != "KSHER_INVALID_ORDER_NO" {
		t.Errorf("JSON body: %v", d)
	}
}

// With repeated refund numbers refused, the same number for the same order
// and amount is a duplicate on both APIs, and nothing is refunded twice.
func TestRepeatedRefundNumbersRefused(t *testing.T) {
	e := MustEnv(t)
	e.v3("native_pay", map[string]string{"mch_order_no": "TM-9", "total_fee": "1000", "fee_type": "THB", "channel": "truemoney"})
	e.mustPay("TM-9", "truemoney")
	if d := refund(e, "TM-9", "R-9", "1000", "300"); d["result"] != "SUCCESS" {
		t.Fatalf("first refund: %v", d)
	}
	if err := e.sb.SetRepeatedRefunds("sometimes"); err == nil {
		t.Error("SetRepeatedRefunds accepted an unknown mode")
	}
	if err := e.sb.SetRepeatedRefunds(sandbox.RepeatRefused); err != nil {
		t.Fatal(err)
	}
	if d := refund(e, "TM-9", "R-9", "1000", "300"); d["err_code"] != "KSHER_DUPLICATE_REFUND_NO" {
		t.Errorf("repeat: %v, want KSHER_DUPLICATE_REFUND_NO", d)
	}
	if _, q := e.v3("refund_query", map[string]string{"mch_order_no": "TM-9"}); q["refund_count"] != "1" || q["refund_fee"] != "300" {
		t.Errorf("refund_query = %v, want one refund of 300", q)
	}
	if st, b := e.vipCall(http.MethodPost, "/api/v1/redirect/orders", redirectFields("o_rep", 10000)); st != http.StatusOK {
		t.Fatalf("%d %v", st, b)
	}
	e.mustPay("o_rep", "truemoney")
	body := map[string]any{"refund_order_id": "rf_rep", "refund_amount": 100}
	if err := e.sb.SetRepeatedRefunds(sandbox.RepeatSameRefund); err != nil {
		t.Fatal(err)
	}
	if st, b := e.vipCall(http.MethodPut, "/api/v1/redirect/orders/o_rep", body); st != http.StatusOK {
		t.Fatalf("vip refund: %d %v", st, b)
	}
	if st, _ := e.vipCall(http.MethodPut, "/api/v1/redirect/orders/o_rep", body); st != http.StatusOK {
		t.Errorf("vip repeat in mode same: %d, want the same refund", st)
	}
	_ = e.sb.SetRepeatedRefunds(sandbox.RepeatRefused)
	if st, b := e.vipCall(http.MethodPut, "/api/v1/redirect/orders/o_rep", body); st != http.StatusBadRequest {
		t.Errorf("vip repeat in mode refuse: %d %v, want 400", st, b)
	}
}
