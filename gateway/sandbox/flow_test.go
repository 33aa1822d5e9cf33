package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

// receiver is a merchant endpoint that records what it gets and answers
// with the next status/body from its script (the last one repeats).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	script []answer
}

type answer struct {
	status int
	body   string
}

type recorded struct {
	method, ctype, body string
	url                 *url.URL
}

func newReceiver(t *testing.T, script ...answer) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.reqs)
		rc.reqs = append(rc.reqs, recorded{method: r.Method, ctype: r.Header.Get("Content-Type"), body: string(b), url: r.URL})
		a := rc.script[min(n, len(rc.script)-1)]
		rc.mu.Unlock()
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) setScript(script ...answer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = script
}

func (rc *receiver) get(i int) recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[i]
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// checkout submits the hosted page's form.
func checkout(t *testing.T, payContent, channel, action string) *http.Response {
	t.Helper()
	u, err := url.Parse(payContent)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"order_uuid": {u.Query().Get("order_uuid")}, "channel": {channel}, "action": {action}}
	target := u.ResolveReference(&url.URL{Path: "ua"})
	resp, err := noRedirect.PostForm(target.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

const okAnswer = `{"result":"SUCCESS","msg":"OK"}`

func TestCheckoutPayFlowAndNotification(t *testing.T) {
	e := MustEnv(t)
	rc := newReceiver(t, answer{500, "oops"}, answer{200, "OK"}, answer{200, okAnswer})
	pc := e.gatewayPay("GW-PAY", "2500", map[string]string{"mch_notify_url": rc.srv.URL + "/notify", "attach": "cart 7"})

	resp, err := http.Get(pc)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout page: HTTP %d", resp.StatusCode)
	}
	html := string(page)
	for _, want := range []string{"25.00 THB", "Test product", `value="promptpay"`, `value="truemoney"`, `value="card"`,
		`name="action" value="pay"`, `value="fail"`, `value="abandon"`} {
		if !strings.Contains(html, want) {
			t.Errorf("checkout page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("checkout page has a script")
	}

	resp = checkout(t, pc, "truemoney", "pay")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/ok" {
		t.Fatalf("pay: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitFor(t, "3 notification attempts", func() bool { return rc.count() >= 3 })
	time.Sleep(50 * time.Millisecond)
	if n := rc.count(); n != 3 {
		t.Errorf("receiver got %d notifications, want 3 (two wrong answers, then OK)", n)
	}
	got := rc.get(2)
	if got.method != http.MethodPost || got.ctype != "text/plain;charset=utf-8" || got.url.Path != "/notify" {
		t.Errorf("notification: %s %s %s", got.method, got.url, got.ctype)
	}
	if rc.get(0).body != got.body {
		t.Error("retries did not resend the same body")
	}
	env := MustDecode(t, []byte(got.body))
	e.checkV3Envelope("gateway_order_query", env)
	data := env["data"].(map[string]any)
	if data["result"] != "SUCCESS" || data["mch_order_no"] != "GW-PAY" || data["channel"] != "truemoney" || data["attach"] != "cart 7" {
		t.Errorf("notification data = %v", data)
	}
	if _, ok := env["time_stamp"]; !ok {
		t.Error("notification has no time_stamp")
	}
	waitFor(t, "delivery recorded", func() bool {
		ns := e.sb.Notifications()
		return len(ns) == 1 && ns[0].Delivered
	})
	if ns := e.sb.Notifications(); len(ns[0].Attempts) != 3 {
		t.Errorf("attempts = %v", ns[0].Attempts)
	}
	_, q := e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-PAY"})
	if q["result"] != "SUCCESS" || q["ksher_order_no"] == "" || q["time_end"] == "" || q["channel_order_no"] == "" {
		t.Errorf("query after payment = %v", q)
	}
	// The page of a paid order says so and offers no form.
	resp, _ = http.Get(pc)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "This order has been paid") || strings.Contains(string(page), "<form") {
		t.Errorf("paid page = %s", page)
	}

	t.Run("fail and abandon", func(t *testing.T) {
		pc := e.gatewayPay("GW-FAIL", "2500", map[string]string{"mch_notify_url": rc.srv.URL + "/notify"})
		resp := checkout(t, pc, "promptpay", "abandon")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/fail" {
			t.Errorf("abandon: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, q := e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-FAIL"})
		if q["result"] != "NOTPAY" {
			t.Errorf("after abandon: %v", q["result"])
		}
		resp = checkout(t, pc, "promptpay", "fail")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/fail" {
			t.Errorf("fail: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, q = e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-FAIL"})
		if q["result"] != "PAYERROR" {
			t.Errorf("after fail: %v", q["result"])
		}
		if n := rc.count(); n != 3 {
			t.Errorf("failed payments notified: %d requests", n)
		}
	})
	t.Run("channel not offered", func(t *testing.T) {
		pc := e.gatewayPay("GW-CH", "2500", nil)
		resp := checkout(t, pc, "wechat", "pay")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want the page again with an error", resp.StatusCode)
		}
	})
	t.Run("unknown order", func(t *testing.T) {
		resp, _ := http.Get(e.url("/ua?order_uuid=0000"))
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		e.gatewayPay("GW-EXP", "2500", map[string]string{"expire_time": "5"})
		e.clock.Advance(6 * time.Minute)
		_, q := e.v3("gateway_order_query", map[string]string{"mch_order_no": "GW-EXP"})
		if q["result"] != "CLOSED" {
			t.Errorf("after expiry: %v", q["result"])
		}
		if err := e.sb.Pay("GW-EXP", ""); err == nil {
			t.Error("an expired order was paid")
		}
	})
}

func TestNotificationGivesUp(t *testing.T) {
	e := MustEnv(t, func(c *sandbox.Config) { c.SpeedFactor = 0.00001 })
	rc := newReceiver(t, answer{200, `{"result":"FAIL"}`})
	e.v3("native_pay", map[string]string{"mch_order_no": "N-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay",
		"notify_url": rc.srv.URL})
	e.mustPay("N-1", "")
	waitFor(t, "the notification to be given up", func() bool {
		ns := e.sb.Notifications()
		return len(ns) == 1 && ns[0].GaveUp
	})
	if n := rc.count(); n != 13 {
		t.Errorf("attempts = %d, want 1 + 12 retries", n)
	}
	data := MustDecode(t, []byte(rc.get(0).body))["data"].(map[string]any)
	if data["operation"] != "NATIVE-PAY" || data["result"] != "SUCCESS" {
		t.Errorf("KsherPay notification data = %v", data)
	}
}

func TestVIPWebhook(t *testing.T) {
	rc := newReceiver(t, answer{503, ""}, answer{200, `{"success": true}`})
	e := MustEnv(t, func(c *sandbox.Config) { c.WebhookURL = rc.srv.URL + "/ksher/webhook?shop=7" })
	st, b := e.vipCall(http.MethodPost, "/api/v1/redirect/orders", redirectFields("wh_1", 10000))
	if st != http.StatusOK {
		t.Fatalf("%d %v", st, b)
	}
	resp := checkout(t, b["reference"].(string), "linepay", "pay")
	if resp.Header.Get("Location") != "https://shop.example.com/ok" {
		t.Errorf("redirect to %q", resp.Header.Get("Location"))
	}
	waitFor(t, "webhook retry", func() bool { return rc.count() >= 2 })
	got := rc.get(1)
	q := got.url.Query()
	if got.method != http.MethodGet || q.Get("type") != "Order" || q.Get("instance") != "wh_1" || q.Get("code") != "StatusChange" ||
		q.Get("message") != "Order Paid" || q.Get("shop") != "7" {
		t.Errorf("webhook = %s %s", got.method, got.url)
	}
	if !strings.Contains(got.url.RawQuery, "message=Order%20Paid") {
		t.Errorf("query %q: want %%20 for spaces", got.url.RawQuery)
	}
	params := map[string]any{}
	for k, v := range q {
		if k != "signature" {
			params[k] = v[0]
		}
	}
	if err := ksign.VIPVerify(testToken, rc.srv.URL+"/ksher/webhook", params, q.Get("signature")); err != nil {
		t.Errorf("webhook signature over the full URL: %v", err)
	}
	e.vipCall(http.MethodPut, "/api/v1/redirect/orders/wh_1", map[string]any{"refund_order_id": "wh_rf", "refund_amount": 100})
	waitFor(t, "refund webhook", func() bool { return rc.count() >= 3 })
	if m := rc.get(2).url.Query().Get("message"); m != "Order Refunded" {
		t.Errorf("message = %q", m)
	}
	// Changed at run time through the control API.
	rc2 := newReceiver(t, answer{200, ""})
	resp2, err := http.Post(e.url("/_sandbox/config"), "application/json", strings.NewReader(`{"webhook_url":"`+rc2.srv.URL+`/hook"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	e.vipCall(http.MethodDelete, "/api/v1/redirect/orders/wh_none", map[string]any{})
	e.vipCall(http.MethodPost, "/api/v1/cscanb/orders", map[string]any{"merchant_order_id": "wh_2", "amount": 100, "channel": "promptpay"})
	e.vipCall(http.MethodDelete, "/api/v1/cscanb/orders/wh_2", map[string]any{})
	waitFor(t, "close webhook", func() bool { return rc2.count() >= 1 })
	if m := rc2.get(0).url.Query().Get("message"); m != "Order Closed" {
		t.Errorf("message = %q", m)
	}
}
