package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// Timeline entries keep a code and the parameters a page needs to word
// them in any language: the created and paid entries of an upsert, each
// refund once, a failed call and a webhook given as early callers give
// them; an entry without a code has only its stored text.
func TestOrderEventsKeepCodesAndParameters(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	o := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "EV-1", Amount: 15050, Currency: "THB",
		Status: models.StatusPending, RawStatus: "NOTPAY", Source: "lookup", Event: "lookup", Checked: true, LatencyMS: 12})
	paidAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "EV-1", Status: models.StatusPaid, RawStatus: "SUCCESS",
		PaidAt: &paidAt, Source: "notification", Event: "notification", Notified: true, Checked: true})
	refund := models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "EV-1", Source: "sync",
		Refunds: []models.RefundSeen{{MchRefundNo: "R-1", Amount: 5000}}}
	mustOrder(t, s, refund)
	mustOrder(t, s, refund) // the same refund again: no second entry
	if err := s.AddOrderEvent(ctx, o.ID, "refresh", "order_query: transport", false, 30*time.Millisecond,
		map[string]string{"op": "order_query", "error": "api KSHER_INVALID_ORDER_NO"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOrderEvent(ctx, o.ID, "notification", "webhook: PAID → partially_refunded", true, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOrderEvent(ctx, o.ID, "other", "something the product added later", true, 0, nil); err != nil {
		t.Fatal(err)
	}
	evs, err := s.OrderEvents(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []models.EventDetail
	for _, e := range evs {
		d, ok := e.Details()
		if !ok {
			if e.Summary != "something the product added later" {
				t.Errorf("entry %+v has no code", e)
			}
			continue
		}
		got = append(got, d)
	}
	if len(evs) != 7 || len(got) != 6 {
		t.Fatalf("timeline = %d entries, %d with codes; want 7 and 6: %+v", len(evs), len(got), got)
	}
	created, paid, changed, refunded, failed, webhook := got[0], got[1], got[2], got[3], got[4], got[5]
	if created.Code != models.EventAnswer || !created.Created || created.To != models.StatusPending || created.RawStatus != "NOTPAY" ||
		created.Amount != 15050 || created.Currency != "THB" || created.Memory {
		t.Errorf("created = %+v", created)
	}
	if paid.Code != models.EventNotification || paid.From != models.StatusPending || paid.To != models.StatusPaid ||
		paid.PaidAt == nil || !paid.PaidAt.Equal(paidAt) || paid.Valid == nil || !*paid.Valid {
		t.Errorf("paid = %+v", paid)
	}
	if refunded.Code != models.EventRefund || refunded.RefundNo != "R-1" || refunded.Amount != 5000 || refunded.Currency != "THB" {
		t.Errorf("refund = %+v", refunded)
	}
	if changed.Code != models.EventSync || changed.From != models.StatusPaid || changed.To != models.StatusPartiallyRefunded {
		t.Errorf("change by the refund = %+v", changed)
	}
	if failed.Code != models.EventCallFailed || failed.Op != "order_query" || failed.ErrorKind != "api" || failed.ErrorCode != "KSHER_INVALID_ORDER_NO" {
		t.Errorf("failed call = %+v", failed)
	}
	if webhook.Code != models.EventWebhook || webhook.To != models.StatusPartiallyRefunded || webhook.Confirmed == nil || !*webhook.Confirmed {
		t.Errorf("webhook = %+v", webhook)
	}
	// The failed calls of early versions stored {"op", "error"} only.
	legacy := models.OrderEvent{Kind: "refresh", Detail: []byte(`{"op":"order_query","error":"timeout"}`)}
	if d, ok := legacy.Details(); !ok || d.Code != models.EventCallFailed || d.ErrorKind != "timeout" || d.ErrorCode != "" {
		t.Errorf("legacy failed call = %+v, %v", d, ok)
	}
}
