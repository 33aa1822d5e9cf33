package models_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

func unnotifiedNos(t *testing.T, s *models.Store, mids ...string) (map[string]bool, int64) {
	t.Helper()
	r, err := s.DriftReport(context.Background(), models.DriftFilter{Mids: mids})
	if err != nil {
		t.Fatal(err)
	}
	nos := map[string]bool{}
	for _, o := range r.Unnotified {
		nos[o.MchOrderNo] = true
	}
	return nos, r.UnnotifiedTotal
}

// A re-sync that hears Ksher say "paid, same amount" settles "paid, but no
// notification": ConfirmPaid takes the order off that list and changes
// nothing else about it. It confirms only a cached order that is paid with
// that very amount and currency, and keeps the first confirmation's time.
func TestConfirmPaidTakesTheOrderOffUnnotified(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "C", "mch1")
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.SetClock(func() time.Time { return now })
	paid := func(no string) *models.Order {
		return mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: no, Status: models.StatusPaid,
			Amount: 5000, Currency: "THB", Source: "lookup", Checked: true})
	}
	one, two := paid("U-1"), paid("U-2")
	open := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "OPEN", Status: models.StatusPending,
		Amount: 5000, Source: "link"})
	if nos, total := unnotifiedNos(t, s, "mch1"); total != 2 || !nos["U-1"] || !nos["U-2"] {
		t.Fatalf("before: unnotified %v (%d), want U-1 and U-2", nos, total)
	}

	for _, c := range []struct {
		name     string
		id       int64
		amount   int64
		currency string
	}{
		{"another amount", one.ID, 4999, "THB"},
		{"another currency", one.ID, 5000, "USD"},
		{"an order not paid", open.ID, 5000, "THB"},
		{"no such order", 999999, 5000, "THB"},
	} {
		if ok, err := s.ConfirmPaid(ctx, c.id, c.amount, c.currency); ok || err != nil {
			t.Errorf("%s: ConfirmPaid = %v, %v; want false, nil", c.name, ok, err)
		}
	}
	if at, err := s.PaidConfirmedAt(ctx, one.ID); at != nil || err != nil {
		t.Fatalf("after refusals: confirmed at %v, %v; want nil", at, err)
	}

	if ok, err := s.ConfirmPaid(ctx, one.ID, 5000, "THB"); !ok || err != nil {
		t.Fatalf("ConfirmPaid = %v, %v; want true", ok, err)
	}
	if nos, total := unnotifiedNos(t, s, "mch1"); total != 1 || len(nos) != 1 || !nos["U-2"] {
		t.Errorf("after confirming U-1: unnotified %v (%d), want U-2 only", nos, total)
	}
	at, err := s.PaidConfirmedAt(ctx, one.ID)
	if err != nil || at == nil || !at.Equal(now) {
		t.Errorf("U-1 confirmed at %v, %v; want %v", at, err, now)
	}
	// Nothing else about the order changed: the notification is still
	// missing, the state and amount are Ksher's, no disagreement appeared.
	after, err := s.FindOrder(ctx, []string{"mch1"}, one.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.NotifiedAt != nil || after.Status != models.StatusPaid || after.Amount != 5000 || after.Refunded != 0 ||
		!after.CheckedAt.Equal(*one.CheckedAt) {
		t.Errorf("U-1 after confirming = %+v, want as before (%+v)", after, one)
	}
	if r, _ := s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch1"}}); r.DisagreementsTotal != 0 {
		t.Errorf("confirming recorded %d disagreements", r.DisagreementsTotal)
	}

	// Again later: already confirmed, the first time stays.
	s.SetClock(func() time.Time { return now.Add(time.Hour) })
	if ok, err := s.ConfirmPaid(ctx, one.ID, 5000, "THB"); ok || err != nil {
		t.Errorf("second ConfirmPaid = %v, %v; want false", ok, err)
	}
	if at, _ := s.PaidConfirmedAt(ctx, one.ID); at == nil || !at.Equal(now) {
		t.Errorf("confirmed at %v after a second confirmation, want %v", at, now)
	}
	if _, err := s.PaidConfirmedAt(ctx, 999999); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("PaidConfirmedAt of no order: %v, want ENOTFOUND", err)
	}
	_ = two
}

// The seeded demo history counts as notified at its paid time: only orders
// cached by the seed, with a payment time and no notification yet, are
// marked, and a second run marks nothing.
func TestMarkSeededNotified(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "S", "mch1")
	paidAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := paidAt.Add(-time.Minute)
	seed := func(no, status string, paid *time.Time) {
		mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: no, Status: status, Amount: 100,
			Source: "seed", Event: "seed", CreatedAt: &created, PaidAt: paid})
	}
	seed("SEED-PAID", models.StatusPaid, &paidAt)
	seed("SEED-REFUNDED", models.StatusRefunded, &paidAt)
	seed("SEED-FAILED", models.StatusFailed, nil)
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "LOOKUP", Status: models.StatusPaid, Amount: 100,
		Source: "lookup", PaidAt: &paidAt})
	now := time.Now().UTC().Truncate(time.Microsecond) // as Postgres keeps it
	s.SetClock(func() time.Time { return now })
	told := paidUpdate(a, "mch1", "SEED-TOLD")
	told.Source = "seed"
	mustOrder(t, s, told)

	keys := []models.OrderKey{{"mch1", "SEED-PAID"}, {"mch1", "SEED-REFUNDED"}, {"mch1", "SEED-FAILED"}, {"mch1", "LOOKUP"},
		{"mch1", "SEED-TOLD"}, {"mch1", "NOT-CACHED"}, {"mch2", "SEED-PAID"}}
	n, err := s.MarkSeededNotified(ctx, keys)
	if err != nil || n != 2 {
		t.Fatalf("MarkSeededNotified = %d, %v; want 2 (SEED-PAID, SEED-REFUNDED)", n, err)
	}
	for no, want := range map[string]*time.Time{"SEED-PAID": &paidAt, "SEED-REFUNDED": &paidAt, "SEED-FAILED": nil, "LOOKUP": nil,
		"SEED-TOLD": &now} {
		hits, err := s.FindOrdersByAnyID(ctx, []string{"mch1"}, no)
		if err != nil || len(hits) != 1 {
			t.Fatalf("%s: %v, %v", no, hits, err)
		}
		got := hits[0].NotifiedAt
		if (got == nil) != (want == nil) || (got != nil && !got.Equal(*want)) {
			t.Errorf("%s notified at %v, want %v", no, got, want)
		}
	}
	if nos, _ := unnotifiedNos(t, s, "mch1"); len(nos) != 1 || !nos["LOOKUP"] {
		t.Errorf("unnotified = %v, want LOOKUP only", nos)
	}
	if n, err := s.MarkSeededNotified(ctx, keys); n != 0 || err != nil {
		t.Errorf("second run = %d, %v; want 0", n, err)
	}
	// More keys than one statement takes.
	many := make([]models.OrderKey, 2500)
	for i := range many {
		many[i] = models.OrderKey{Mid: "mch1", MchOrderNo: fmt.Sprintf("NONE-%d", i)}
	}
	if n, err := s.MarkSeededNotified(ctx, many); n != 0 || err != nil {
		t.Errorf("2500 unknown keys = %d, %v", n, err)
	}
}

// "Paid, but no notification" and its count read the partial index only
// (orders_paid_unconfirmed_idx): at millions of orders, nearly all notified,
// the list must not walk the mid's paid history.
func TestDriftUnnotifiedUsesItsIndex(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "I", "mch1", "mch2")
	if err := s.ExecForBench(ctx, fmt.Sprintf(`
INSERT INTO orders (account_id, mid, kind, mch_order_no, status, amount, created_at, notified_at, paid_confirmed_at, source)
SELECT %d, 'mch' || (1 + g %% 2), 'ksherpay', 'P-' || g, 'paid', 100 + g, now() - g * interval '1 minute',
       CASE WHEN g %% 500 = 0 THEN NULL ELSE now() END, CASE WHEN g %% 1000 = 0 THEN now() END, 'sync'
FROM generate_series(1, 20000) g;
ANALYZE orders;`, a.ID)); err != nil {
		t.Fatal(err)
	}
	if _, total := unnotifiedNos(t, s, "mch1", "mch2"); total != 20 {
		t.Errorf("unnotified = %d, want 20 (40 without a notification, 20 of them confirmed)", total)
	}
	stmts, err := s.DriftReportSQL(ctx, models.DriftFilter{Mids: []string{"mch1"}})
	if err != nil {
		t.Fatal(err)
	}
	// The dry run records the count's statement (GORM's dry run repeats it
	// for the list); the list is the same condition, newest first.
	var count string
	for _, q := range stmts {
		if strings.Contains(q, "notified_at IS NULL") {
			count = q
		}
	}
	if !strings.HasPrefix(count, "SELECT count(*) FROM ") {
		t.Fatalf("no count of unnotified orders among %q", stmts)
	}
	list := strings.Replace(count, "SELECT count(*)", "SELECT *", 1) + " ORDER BY created_at DESC, id DESC LIMIT 100"
	for _, q := range []string{count, list} {
		var plan []string
		if err := s.RawForTest(ctx, "EXPLAIN "+q, &plan); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if !regexp.MustCompile(`Index (Only )?Scan .*orders_paid_unconfirmed_idx`).MatchString(text) || strings.Contains(text, "Filter:") {
			t.Errorf("the plan of %s does not read orders_paid_unconfirmed_idx alone:\n%s", q, text)
		}
	}
}
