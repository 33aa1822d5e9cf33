package models_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// lostWebhooks creates n payment links on mid, cached by us as pending an
// hour ago (as if made through the app), then pays them in the sandbox while
// our receiver answers 503 (the database is down): Ksher's vip webhook tries
// its 6 retries, 5 s apart, and gives up. It returns the orders' numbers.
func lostWebhooks(t *testing.T, e *syncEnv, mid string, n int) []string {
	t.Helper()
	ctx := context.Background()
	var refused atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused.Add(1)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(recv.Close)
	e.sb.SetWebhookURL(fmt.Sprintf("%s/hooks/ksher/vip/%d", recv.URL, e.account.ID))

	created := e.clock.Now().Add(-time.Hour)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("LOST-%s-%d", mid, i)
		if _, err := e.client.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: mid, MerchantOrderID: id,
			Amount: int64(1000 + i), Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.account.ID, Mid: mid, MchOrderNo: id, Kind: "redirect",
			Status: models.StatusPending, Amount: int64(1000 + i), Source: "create", CreatedAt: &created}); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.Pay(id, "truemoney"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitFor(t, 20*time.Second, "Ksher to give up on the webhooks", func() bool {
		given := 0
		for _, nt := range e.sb.Notifications() {
			if nt.GaveUp && !nt.Delivered {
				given++
			}
		}
		return given == n
	})
	for _, nt := range e.sb.Notifications() {
		if len(nt.Attempts) != 7 {
			t.Errorf("webhook of %s: %d attempts, want 7 (the first and 6 retries)", nt.Order, len(nt.Attempts))
		}
	}
	if got := refused.Load(); got != int64(7*n) {
		t.Errorf("receiver refused %d requests, want %d", got, 7*n)
	}
	cached := e.cached(t, mid)
	for _, id := range ids {
		if o := cached[id]; o.Status != models.StatusPending {
			t.Fatalf("%s after the lost webhook = %s, want still pending", id, o.Status)
		}
	}
	// The drift page lists them: open for over 30 minutes.
	r, err := e.store.DriftReport(ctx, models.DriftFilter{Mids: []string{mid}})
	if err != nil {
		t.Fatal(err)
	}
	if r.OpenTotal != int64(n) {
		t.Errorf("drift page lists %d open orders, want the %d whose webhook was lost", r.OpenTotal, n)
	}
	return ids
}

// A vip webhook refused during a database outage until Ksher gives up is
// never sent again: the daily sync (the day's transactions report) brings
// the order's paid state into our database anyway.
func TestLostVIPWebhookRecoveredByDailySync(t *testing.T) {
	e := newSyncEnv(t, "mch35618")
	ids := lostWebhooks(t, e, "mch35618", 2)
	e.pullTwice(t, "mch35618", func(int) {})
	cached := e.cached(t, "mch35618")
	for i, id := range ids {
		if o := cached[id]; o.Status != models.StatusPaid || o.Amount != int64(1000+i) {
			t.Errorf("%s after the daily sync = %s %d, want paid %d", id, o.Status, o.Amount, 1000+i)
		}
	}
	if r, err := e.store.DriftReport(context.Background(), models.DriftFilter{Mids: []string{"mch35618"}}); err != nil || r.OpenTotal != 0 {
		t.Errorf("open orders on the drift page after the sync = %d (%v), want 0", r.OpenTotal, err)
	}
}

// The same lost webhook, recovered from the drift page: its re-sync asks
// Ksher about each listed order and stores the paid state.
func TestLostVIPWebhookRecoveredByDriftResync(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := lostWebhooks(t, e, "mch35618", 2)
	jobs := MustJobs(t, e.store, testJobConfig())
	orders := models.NewOrders(e.store, models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep()), nil)
	d, err := models.NewDriftResyncs(e.store, orders, jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := models.DriftFilter{Mids: []string{"mch35618"}, Limit: 50}
	r, err := d.Start(ctx, models.Actor{Email: "fin@example.com", IP: "192.0.2.1"}, "mch35618", f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total() != len(ids) {
		t.Fatalf("re-sync covers %d orders, want the %d listed", r.Total(), len(ids))
	}
	if err := d.RunForTest(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	cached := e.cached(t, "mch35618")
	for _, id := range ids {
		if o := cached[id]; o.Status != models.StatusPaid {
			t.Errorf("%s after the drift page's re-sync = %s, want paid", id, o.Status)
		}
	}
}
