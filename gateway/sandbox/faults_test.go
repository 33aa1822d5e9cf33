package sandbox_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

// control sends a request to the /_sandbox API.
func (e *env) control(method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url("/_sandbox/"+path), strings.NewReader(body))
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
	return resp.StatusCode, b
}

func TestFaults(t *testing.T) {
	e := MustEnv(t)
	info := func() (*http.Response, []byte) {
		t.Helper()
		return e.v3Post("merchant_info", e.signV3(map[string]string{}))
	}
	addFault := func(body string) {
		t.Helper()
		if st, b := e.control(http.MethodPost, "faults", body); st != http.StatusCreated {
			t.Fatalf("add fault %s: %d %s", body, st, b)
		}
	}

	t.Run("latency", func(t *testing.T) {
		addFault(`{"op":"merchant_info","kind":"latency","latency_ms":1500,"next":1}`)
		start := time.Now()
		resp, _ := info()
		if d := time.Since(start); d < 1500*time.Millisecond || resp.StatusCode != http.StatusOK {
			t.Errorf("took %v, status %d", d, resp.StatusCode)
		}
		start = time.Now()
		info()
		// Far below the injected 1.5 s, so a loaded machine does not matter.
		if d := time.Since(start); d > 1000*time.Millisecond {
			t.Errorf("second call took %v: the fault was for the next call only", d)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		addFault(`{"op":"merchant_info","kind":"5xx","status":503,"next":2}`)
		for range 2 {
			if resp, b := info(); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "503") {
				t.Errorf("status %d: %s", resp.StatusCode, b)
			}
		}
		if resp, _ := info(); resp.StatusCode != http.StatusOK {
			t.Errorf("third call: %d", resp.StatusCode)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		addFault(`{"op":"native_pay","kind":"timeout","next":1,"processed":true}`)
		client := &http.Client{Timeout: 200 * time.Millisecond}
		vals := e.signV3(map[string]string{"mch_order_no": "TO-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
		_, err := client.PostForm(e.url("/KsherPay/native_pay"), vals)
		var ne interface{ Timeout() bool }
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want a client timeout", err)
		}
		// processed: the order exists although the answer was lost.
		if _, d := e.v3("order_query", map[string]string{"mch_order_no": "TO-1"}); d["result"] != "NOTSURE" {
			t.Errorf("order after a processed timeout: %v", d)
		}
	})
	t.Run("timeout without processing", func(t *testing.T) {
		addFault(`{"op":"native_pay","kind":"timeout","latency_ms":50,"next":1}`)
		vals := e.signV3(map[string]string{"mch_order_no": "TO-2", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
		if _, err := http.PostForm(e.url("/KsherPay/native_pay"), vals); err == nil {
			t.Error("want a dropped connection")
		}
		if _, d := e.v3("order_query", map[string]string{"mch_order_no": "TO-2"}); d["err_code"] != "KSHER_INVALID_ORDER_NO" {
			t.Errorf("order after an unprocessed timeout: %v", d)
		}
	})
	t.Run("reset", func(t *testing.T) {
		// Unprocessed: the peer resets the connection (RST, not a clean
		// close) before a byte of answer, and nothing happened.
		addFault(`{"op":"native_pay","kind":"reset","next":1}`)
		vals := e.signV3(map[string]string{"mch_order_no": "RS-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
		if resp, err := http.PostForm(e.url("/KsherPay/native_pay"), vals); err == nil || !errors.Is(err, syscall.ECONNRESET) {
			if resp != nil {
				resp.Body.Close()
			}
			t.Fatalf("err = %v, want a connection reset", err)
		}
		if _, d := e.v3("order_query", map[string]string{"mch_order_no": "RS-1"}); d["err_code"] != "KSHER_INVALID_ORDER_NO" {
			t.Errorf("order after an unprocessed reset: %v", d)
		}
		// Processed: the order exists although the answer was lost.
		addFault(`{"op":"native_pay","kind":"reset","next":1,"processed":true}`)
		vals = e.signV3(map[string]string{"mch_order_no": "RS-2", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
		if _, err := http.PostForm(e.url("/KsherPay/native_pay"), vals); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("processed: err = %v, want a connection reset", err)
		}
		if _, d := e.v3("order_query", map[string]string{"mch_order_no": "RS-2"}); d["result"] != "NOTSURE" {
			t.Errorf("order after a processed reset: %v", d)
		}
		// The fault was for the next call only.
		if resp, _ := info(); resp.StatusCode != http.StatusOK {
			t.Errorf("call after the reset: %d", resp.StatusCode)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		addFault(`{"op":"merchant_info","kind":"malformed","next":1}`)
		resp, b := info()
		if resp.StatusCode != http.StatusOK || json.Valid(b) || len(b) == 0 {
			t.Errorf("status %d, body %q", resp.StatusCode, b)
		}
	})
	t.Run("bad_signature v3", func(t *testing.T) {
		addFault(`{"op":"merchant_info","kind":"bad_signature","next":1}`)
		_, b := info()
		env := MustDecode(t, b)
		data := env["data"].(map[string]any)
		if err := ksign.V3Verify(e.kpub, ksign.V3ResponseSubset("merchant_info", data), env["sign"].(string)); err == nil {
			t.Error("signature verifies; want a corrupted one")
		}
	})
	t.Run("bad_signature vip", func(t *testing.T) {
		if _, err := e.sb.AddFault(sandbox.Fault{Op: "vip.*", Kind: sandbox.FaultBadSignature, Next: 1}); err != nil {
			t.Fatal(err)
		}
		f := redirectFields("bs_1", 100)
		f["timestamp"] = "1"
		f["signature"] = ksign.VIPSign(testToken, "/api/v1/redirect/orders", f)
		b, _ := json.Marshal(f)
		st, body := e.rawVIP(http.MethodPost, "/api/v1/redirect/orders", b, "")
		if st != http.StatusOK || ksign.VIPVerify(testToken, "/api/v1/redirect/orders", body, body["signature"].(string)) == nil {
			t.Errorf("status %d, signature still verifies", st)
		}
	})
	t.Run("rate_limit", func(t *testing.T) {
		addFault(`{"op":"merchant_info","kind":"rate_limit","next":1}`)
		_, d := e.v3("merchant_info", map[string]string{})
		if d["err_code"] != "KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS" {
			t.Errorf("v3: %v", d)
		}
		addFault(`{"op":"vip.redirect.query","kind":"rate_limit","count":1}`)
		if st, _ := e.vipCall(http.MethodGet, "/api/v1/redirect/orders/bs_1", map[string]any{}); st != http.StatusTooManyRequests {
			t.Errorf("vip: %d", st)
		}
		if st, _ := e.vipCall(http.MethodGet, "/api/v1/redirect/orders/bs_1", map[string]any{}); st != http.StatusOK {
			t.Errorf("vip after the fault: %d", st)
		}
	})
	t.Run("percent", func(t *testing.T) {
		addFault(`{"op":"rate_query","kind":"5xx","percent":50}`)
		failed := 0
		for range 60 {
			resp, _ := e.v3Post("rate_query", e.signV3(map[string]string{"channel": "wechat", "fee_type": "THB", "date": "2024-01-01"}))
			if resp.StatusCode >= 500 {
				failed++
			}
		}
		if failed < 10 || failed > 50 {
			t.Errorf("%d of 60 calls failed at 50 %%", failed)
		}
	})
	t.Run("list and clear", func(t *testing.T) {
		st, b := e.control(http.MethodGet, "faults", "")
		var list []sandbox.Fault
		if err := json.Unmarshal(b, &list); err != nil || st != http.StatusOK {
			t.Fatalf("%d %s", st, b)
		}
		if len(list) != 1 || list[0].Op != "rate_query" || list[0].Hits == 0 {
			t.Errorf("faults = %+v, want the unlimited percent fault only", list)
		}
		if st, b := e.control(http.MethodPost, "faults", `{"op":"x","kind":"nope"}`); st != http.StatusBadRequest {
			t.Errorf("bad kind: %d %s", st, b)
		}
		if st, _ := e.control(http.MethodDelete, "faults", ""); st != http.StatusNoContent {
			t.Errorf("delete: %d", st)
		}
		if len(e.sb.Faults()) != 0 {
			t.Errorf("faults left: %v", e.sb.Faults())
		}
	})
	t.Run("calls", func(t *testing.T) {
		st, b := e.control(http.MethodGet, "calls", "")
		var calls map[string]int
		if err := json.Unmarshal(b, &calls); err != nil || st != http.StatusOK {
			t.Fatalf("%d %s", st, b)
		}
		if calls["merchant_info"] != e.sb.Calls("merchant_info") || calls["merchant_info"] < 8 || calls["rate_query"] != 60 {
			t.Errorf("calls = %v", calls)
		}
		if calls["vip.redirect.query"] != 2 || calls["vip.redirect.create"] != 1 {
			t.Errorf("vip calls = %v", calls)
		}
		e.control(http.MethodDelete, "calls", "")
		if n := e.sb.Calls("merchant_info"); n != 0 {
			t.Errorf("after reset: %d", n)
		}
	})
}

func TestControlPay(t *testing.T) {
	e := MustEnv(t)
	e.v3("native_pay", map[string]string{"mch_order_no": "CP-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
	st, b := e.control(http.MethodPost, "pay", `{"order":"CP-1","appid":"mch35000"}`)
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, b)
	}
	if _, d := e.v3("order_query", map[string]string{"mch_order_no": "CP-1"}); d["result"] != "SUCCESS" {
		t.Errorf("after /_sandbox/pay: %v", d)
	}
	if st, b := e.control(http.MethodPost, "pay", `{"order":"CP-1"}`); st != http.StatusConflict {
		t.Errorf("paying twice: %d %s", st, b)
	}
	if st, b := e.control(http.MethodPost, "pay", `{"order":"nope"}`); st != http.StatusNotFound {
		t.Errorf("unknown order: %d %s", st, b)
	}
	e.v3("native_pay", map[string]string{"mch_order_no": "CP-2", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"})
	if st, b := e.control(http.MethodPost, "pay", "order=CP-2&outcome=fail"); st != http.StatusOK {
		t.Errorf("form body: %d %s", st, b)
	}
	e.clock.Advance(11 * time.Second)
	if _, d := e.v3("order_query", map[string]string{"mch_order_no": "CP-2"}); d["result"] != "PAYERROR" {
		t.Errorf("after outcome=fail: %v", d)
	}
}
