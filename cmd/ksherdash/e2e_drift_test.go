package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// seededOrder is the part of the sandbox's /_sandbox/orders the drift test
// reads.
type seededOrder struct {
	Merchant   string    `json:"merchant"`
	MchOrderNo string    `json:"mch_order_no"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Created    time.Time `json:"created"`
	PaidAt     time.Time `json:"paid_at"`
	Seeded     bool      `json:"seeded"`
	Refunds    []struct {
		Amount int64 `json:"amount"`
	} `json:"refunds"`
}

// A fresh sandbox start shows exactly the drift its seeded history implies.
// The seed models no notification delivery (none is lost), so its paid
// orders count as notified when paid and "Paid, but no notification" is
// empty, where it used to list every seeded paid order of the last 30
// days. A demo seeded by an earlier version is put right on its next start.
func TestE2EDriftFreshDemo(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dsn, "LOG_LEVEL": "info"}
	app := startApp(t, env)
	a := &ordersApp{runningApp: app}
	var orders []seededOrder
	a.getJSON(t, "/sandbox/_sandbox/orders", &orders)
	// What the seed implies: the paid orders it made (each notified, as
	// far as the seed says), and those that would be listed without a
	// notification: still paid (not refunded), created in the last 30 days.
	paid, wouldList := map[string]seededOrder{}, 0
	for _, o := range orders {
		if !o.Seeded || o.PaidAt.IsZero() || o.Kind == "payout" {
			continue
		}
		paid[o.Merchant+"/"+o.MchOrderNo] = o
		if o.State == "paid" && len(o.Refunds) == 0 && o.Created.After(time.Now().Add(-30*24*time.Hour)) {
			wouldList++
		}
	}
	const wantUnnotified = 0 // the seed loses no notification
	if len(paid) < 100 || wouldList < 20 {
		t.Fatalf("the seed made %d paid orders, %d of them paid in the last 30 days: too few to mean anything", len(paid), wouldList)
	}
	t.Logf("seeded paid orders: %d; without this fix the drift page would list %d", len(paid), wouldList)

	store, err := models.Open(ctx, dsn, nil)
	must(t, err)
	t.Cleanup(func() { store.Close() })
	mids := []string{"mch35000", "mch35001", "mch35618"}
	check := func(when string) {
		t.Helper()
		r, err := store.DriftReport(ctx, models.DriftFilter{Mids: mids})
		must(t, err)
		if r.UnnotifiedTotal != wantUnnotified || r.DisagreementsTotal != 0 || r.OpenTotal != 0 {
			t.Errorf("%s: drift = %d paid without notification, %d disagreements, %d open; want %d, 0, 0",
				when, r.UnnotifiedTotal, r.DisagreementsTotal, r.OpenTotal, wantUnnotified)
		}
		marked := 0
		for key, o := range paid {
			mid, no, _ := strings.Cut(key, "/")
			hits, err := store.FindOrdersByAnyID(ctx, []string{mid}, no)
			must(t, err)
			if len(hits) != 1 || hits[0].NotifiedAt == nil || hits[0].PaidAt == nil || !hits[0].NotifiedAt.Equal(*hits[0].PaidAt) ||
				!hits[0].PaidAt.Equal(o.PaidAt.Truncate(time.Microsecond)) {
				t.Errorf("%s: %s cached as %+v, want notified when paid (%s)", when, key, hits, o.PaidAt)
				continue
			}
			marked++
		}
		if marked != len(paid) {
			t.Errorf("%s: %d of %d seeded paid orders notified when paid", when, marked, len(paid))
		}
	}
	check("fresh start")

	// The page says so.
	page := newPage(t)
	signInOwner(t, page, app)
	if _, err := page.Goto(app.URL + "/m/all/drift"); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, page.GetByTestId("drift-unnotified-none"))
	title, err := page.GetByTestId("drift-unnotified").Locator("h2").TextContent()
	must(t, err)
	if !strings.Contains(title, "(0)") {
		t.Errorf("unnotified heading = %q, want (0)", title)
	}

	// A demo seeded before this fix: its seeded orders have no notification
	// time. The next start marks them.
	app.Stop(t)
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	t.Cleanup(func() { conn.Close(ctx) })
	tag, err := conn.Exec(ctx, "UPDATE orders SET notified_at = NULL WHERE source = 'seed'")
	must(t, err)
	if r, _ := store.DriftReport(ctx, models.DriftFilter{Mids: mids}); tag.RowsAffected() == 0 || r.UnnotifiedTotal != int64(wouldList) {
		t.Fatalf("an old demo lists %d paid without notification, want %d", r.UnnotifiedTotal, wouldList)
	}
	startApp(t, env)
	check("restart of an old demo")
}
