package sandbox_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	withState := func(c *sandbox.Config) { c.StateFile = file; c.WebhookURL = "" }
	e := MustEnv(t, withState)
	e.v3("native_pay", map[string]string{"mch_order_no": "P-1", "total_fee": "1000", "fee_type": "THB", "channel": "truemoney"})
	e.mustPay("P-1", "")
	first := refund(e, "P-1", "PR-1", "1000", "300")
	e.vipCall(http.MethodPost, "/api/v1/redirect/orders", redirectFields("p_vip", 500))
	e.sb.SetWebhookURL("https://shop.example.com/hook")
	e.sb.SetAllowPartialRefund(testAppID, false)
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !json.Valid(b) {
		t.Fatalf("state file: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".sandbox-state-*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}

	e2 := MustEnv(t, withState)
	e2.clock.Advance(time.Minute)
	if _, d := e2.v3("order_query", map[string]string{"mch_order_no": "P-1"}); d["result"] != "REFUND" {
		t.Errorf("order after restart: %v", d)
	}
	// The refund number is still single-use, and its replay still answers the same refund.
	again := refund(e2, "P-1", "PR-1", "1000", "300")
	if again["ksher_refund_no"] != first["ksher_refund_no"] {
		t.Errorf("replay after restart: %v, want %v", again["ksher_refund_no"], first["ksher_refund_no"])
	}
	if _, d := e2.v3("native_pay", map[string]string{"mch_order_no": "P-1", "total_fee": "1000", "fee_type": "THB", "channel": "truemoney"}); d["err_code"] != "KSHER_DUPLICATE_ORDER_NO" {
		t.Errorf("duplicate after restart: %v", d)
	}
	if st, _ := e2.vipCall(http.MethodGet, "/api/v1/redirect/orders/p_vip", map[string]any{}); st != http.StatusOK {
		t.Errorf("vip order after restart: %d", st)
	}
	if e2.sb.WebhookURL() != "https://shop.example.com/hook" {
		t.Errorf("webhook URL = %q", e2.sb.WebhookURL())
	}
	if _, mi := e2.v3("merchant_info", map[string]string{}); mi["allow_partial_refund"] != "N" {
		t.Errorf("allow_partial_refund = %v", mi["allow_partial_refund"])
	}
	// New numbers do not collide with old ones.
	_, d := e2.v3("native_pay", map[string]string{"mch_order_no": "P-2", "total_fee": "1000", "fee_type": "THB", "channel": "truemoney"})
	_, old := e2.v3("order_query", map[string]string{"mch_order_no": "P-1"})
	if d["ksher_order_no"] == old["ksher_order_no"] {
		t.Error("ksher_order_no reused after restart")
	}
}

func TestPersistenceResumesNotifications(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	rc := newReceiver(t, answer{500, ""})
	e := MustEnv(t, func(c *sandbox.Config) { c.StateFile = file; c.SpeedFactor = 1000 })
	e.v3("native_pay", map[string]string{"mch_order_no": "PN-1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay", "notify_url": rc.srv.URL})
	e.mustPay("PN-1", "")
	waitFor(t, "first attempt", func() bool { return rc.count() == 1 })
	e.sb.Close() // the next retry would be in 1000 s
	rc.setScript(answer{200, okAnswer})
	e2 := MustEnv(t, func(c *sandbox.Config) { c.StateFile = file })
	waitFor(t, "resumed delivery", func() bool {
		ns := e2.sb.Notifications()
		return len(ns) == 1 && ns[0].Delivered
	})
	if n := len(e2.sb.Notifications()[0].Attempts); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestSeedHistory(t *testing.T) {
	seed := func(s int64) (*env, []sandbox.Order) {
		e := MustEnv(t)
		n, err := e.sb.SeedHistory(sandbox.SeedOptions{Seed: s, Orders: 300, Days: 60})
		if err != nil || n != 300 {
			t.Fatalf("SeedHistory = %d, %v", n, err)
		}
		return e, e.sb.Orders()
	}
	type summary struct {
		No, State, Channel, Merchant string
		Amount                       int64
		Created                      time.Time
		Refunds                      int
	}
	sum := func(os []sandbox.Order) []summary {
		var out []summary
		for _, o := range os {
			out = append(out, summary{o.MchOrderNo, o.State, o.Channel, o.Merchant, o.Amount, o.Created, len(o.Refunds)})
		}
		return out
	}
	e, a := seed(7)
	_, b := seed(7)
	_, c := seed(8)
	if !reflect.DeepEqual(sum(a), sum(b)) {
		t.Error("the same seed gave different histories")
	}
	if reflect.DeepEqual(sum(a), sum(c)) {
		t.Error("different seeds gave the same history")
	}
	states := map[string]int{}
	merchants := map[string]int{}
	refunded, partial := 0, 0
	for _, o := range a {
		states[o.State]++
		merchants[o.Merchant]++
		if len(o.Refunds) > 0 {
			refunded++
			if o.Refunds[0].Amount < o.Amount {
				partial++
			}
		}
		if o.Created.After(start2024) || o.Created.Before(start2024.AddDate(0, 0, -61)) {
			t.Errorf("order %s created %v, outside the 60 days", o.MchOrderNo, o.Created)
		}
	}
	if states["paid"] < 150 || states["failed"] == 0 || states["expired"] == 0 || states["closed"] == 0 || refunded == 0 || partial == 0 {
		t.Errorf("states = %v, refunded = %d (partial %d)", states, refunded, partial)
	}
	if len(merchants) != 3 {
		t.Errorf("merchants = %v, want the appid and both mids", merchants)
	}
	if n, _ := e.sb.SeedHistory(sandbox.SeedOptions{Seed: 7}); n != 0 {
		t.Errorf("re-seeding created %d orders", n)
	}
	if st := e.sb.Settlements(testMid, start2024.AddDate(0, 0, -60), start2024); len(st) == 0 {
		t.Error("no settlements for the seeded mid")
	}
	if len(e.sb.Notifications()) != 0 {
		t.Error("seeding sent notifications")
	}
}
