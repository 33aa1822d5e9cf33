package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

func paidUpdate(a *models.MerchantAccount, mid, order string) models.OrderUpdate {
	return models.OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: order, Status: models.StatusPaid, Amount: 5000,
		KsherOrderNo: "9001" + order, Source: "notification", Event: "notification", Notified: true, Checked: true}
}

func validNote(a *models.MerchantAccount, mid, order, digest string) *models.Notification {
	return &models.Notification{AccountID: &a.ID, APIKind: models.NotifyV3, Valid: true, Mid: mid, MchOrderNo: order,
		Method: "POST", URL: "/hooks/ksher/v3/1", Body: `{"data":{}}`, Status: models.StatusPaid, Digest: digest}
}

// A valid notification is stored with the order's new state in one go; the
// same one again is a replay that changes nothing; one that does not verify
// is stored and changes nothing.
func TestSaveNotificationOnceThenReplay(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "N", "mch1")
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "O-1", Status: models.StatusPending, Amount: 5000, Source: "link"})

	u := paidUpdate(a, "mch1", "O-1")
	first, err := s.SaveNotification(ctx, validNote(a, "mch1", "O-1", "d1"), &u)
	if err != nil {
		t.Fatal(err)
	}
	n := first.Notification
	if !first.Stored || n.ID == 0 || n.Replay || !n.Changed || n.HandledAt == nil || n.OrderID == nil || first.Order.Status != models.StatusPaid {
		t.Fatalf("first = %+v (order %+v), want stored, handled, changed, order paid", n, first.Order)
	}
	if first.Order.NotifiedAt == nil {
		t.Errorf("order not marked as notified")
	}
	events, err := s.OrderEvents(ctx, first.Order.ID)
	if err != nil {
		t.Fatal(err)
	}

	u2 := paidUpdate(a, "mch1", "O-1")
	u2.Amount = 9999 // a replay must not apply anything it carries
	again, err := s.SaveNotification(ctx, validNote(a, "mch1", "O-1", "d1"), &u2)
	if err != nil {
		t.Fatal(err)
	}
	r := again.Notification
	if !again.Stored || r.ID == n.ID || !r.Replay || r.Changed || r.HandledAt != nil || r.OrderID == nil || *r.OrderID != *n.OrderID {
		t.Fatalf("replay = %+v, want stored as a replay linked to the order, unchanged", r)
	}
	after, err := s.FindOrder(ctx, []string{"mch1"}, first.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Amount != 5000 || after.UpdatedAt.Sub(first.Order.UpdatedAt).Abs() > time.Microsecond {
		t.Errorf("order after replay: amount %d updated %v, want untouched (5000, %v)", after.Amount, after.UpdatedAt, first.Order.UpdatedAt)
	}
	if evs, _ := s.OrderEvents(ctx, first.Order.ID); len(evs) != len(events) {
		t.Errorf("timeline grew from %d to %d on a replay", len(events), len(evs))
	}

	// Does not verify: stored with its reason, nothing applied.
	bad := &models.Notification{AccountID: &a.ID, APIKind: models.NotifyV3, Valid: false, Error: "bad_signature: x",
		MchOrderNo: "O-1", Method: "POST", Body: "{}", Digest: "d1"}
	u3 := paidUpdate(a, "mch1", "O-1")
	u3.Status = models.StatusRefunded
	res, err := s.SaveNotification(ctx, bad, &u3)
	if err != nil || !res.Stored || res.Notification.ID == 0 || res.Notification.Replay || res.Notification.Changed || res.Order != nil {
		t.Fatalf("invalid = %+v, %v; want stored, not a replay, nothing applied", res, err)
	}
	if o, _ := s.FindOrder(ctx, []string{"mch1"}, first.Order.ID); o.Status != models.StatusPaid {
		t.Errorf("an invalid notification changed the order to %s", o.Status)
	}
}

// Ksher delivering one notification to two replicas at the same moment:
// exactly one of the copies is handled, the others are replays.
func TestSaveNotificationConcurrentCopiesHandledOnce(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "N", "mch1")
	const copies = 8
	var wg sync.WaitGroup
	results := make(chan *models.NotificationSaved, copies)
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := paidUpdate(a, "mch1", "O-2")
			r, err := s.SaveNotification(ctx, validNote(a, "mch1", "O-2", "same"), &u)
			if err != nil {
				t.Error(err)
				return
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	handled, replays := 0, 0
	for r := range results {
		if r.Notification.Replay {
			replays++
		} else if r.Notification.HandledAt != nil {
			handled++
		}
	}
	if handled != 1 || replays != copies-1 {
		t.Errorf("handled %d, replays %d; want 1 and %d", handled, replays, copies-1)
	}
}

// Refused notifications have a shared budget per minute; past it they are
// not stored.
func TestInvalidNotificationBudget(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	for i := range models.InvalidNotificationsPerMinute {
		ok, err := s.AllowInvalidNotification(ctx)
		if err != nil || !ok {
			t.Fatalf("notification %d refused by the budget: %v", i, err)
		}
		if _, err := s.SaveNotification(ctx, &models.Notification{APIKind: models.NotifyVIP, Error: "unknown_account: x"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.AllowInvalidNotification(ctx); err != nil || ok {
		t.Fatalf("over the budget: allowed = %v, %v; want refused", ok, err)
	}
	now = now.Add(61 * time.Second)
	if ok, err := s.AllowInvalidNotification(ctx); err != nil || !ok {
		t.Errorf("a minute later: allowed = %v, %v; want allowed", ok, err)
	}
}

// The event log shows a person the notifications about their mids, the
// refused ones sent to their accounts, and (owners) those sent to no
// account; pages follow each other without gaps or repeats.
func TestListNotificationsScopeAndPages(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1", "mch2")
	b := MustAccount(t, s, "B", "mch3")
	now := time.Now().UTC()
	s.SetClock(func() time.Time { now = now.Add(time.Second); return now })
	save := func(n *models.Notification) {
		t.Helper()
		if _, err := s.SaveNotification(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 7 {
		save(&models.Notification{AccountID: &a.ID, APIKind: models.NotifyV3, Valid: true, Mid: "mch1", Digest: "x"})
	}
	save(&models.Notification{AccountID: &a.ID, APIKind: models.NotifyV3, Valid: true, Mid: "mch2"})
	save(&models.Notification{AccountID: &a.ID, APIKind: models.NotifyV3, Error: "bad_signature: a"})
	save(&models.Notification{AccountID: &b.ID, APIKind: models.NotifyV3, Error: "bad_signature: b"})
	save(&models.Notification{APIKind: models.NotifyV3, Error: "unknown_account: c"})

	all := func(f models.NotificationFilter) []models.NotificationRow {
		t.Helper()
		var out []models.NotificationRow
		for page := 0; ; page++ {
			rows, next, err := s.ListNotifications(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rows...)
			if next == "" || page > 20 {
				return out
			}
			f.After = next
		}
	}
	rows := all(models.NotificationFilter{Mids: []string{"mch1"}, AccountIDs: []int64{a.ID}, Limit: 3})
	if len(rows) != 8 {
		t.Fatalf("mch1's log = %d rows, want its 7 and account A's refused one", len(rows))
	}
	seen := map[int64]bool{}
	for i, r := range rows {
		if seen[r.ID] {
			t.Errorf("row %d listed twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.ReceivedAt.After(rows[i-1].ReceivedAt) {
			t.Errorf("rows not newest first at %d", i)
		}
		if r.Mid == "mch2" || (r.AccountID != nil && *r.AccountID == b.ID) || r.AccountID == nil {
			t.Errorf("row outside mch1's scope: %+v", r.Notification)
		}
	}
	invalid := false
	if rows := all(models.NotificationFilter{Mids: []string{"mch1"}, AccountIDs: []int64{a.ID}, Valid: &invalid}); len(rows) != 1 || rows[0].Valid {
		t.Errorf("refused only = %d rows", len(rows))
	}
	if rows := all(models.NotificationFilter{Mids: []string{"mch1", "mch2", "mch3"}, AccountIDs: []int64{a.ID, b.ID}, UnknownAccounts: true}); len(rows) != 11 {
		t.Errorf("owner's /m/all log = %d rows, want 11", len(rows))
	}
	if rows := all(models.NotificationFilter{}); len(rows) != 0 {
		t.Errorf("empty scope lists %d rows, want none", len(rows))
	}
	if _, _, err := s.ListNotifications(ctx, models.NotificationFilter{Mids: []string{"mch1"}, After: "nonsense"}); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("bad cursor: %v, want EINVALID", err)
	}
}

// Drift: whatever path changes a final state records it (a notification
// names itself); refunds moving a paid order on are not drift; an answer the
// cache refuses is recorded by RecordDrift.
func TestDriftRecordedWhenAFinalStateChanges(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "D", "mch1")
	failed := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "F-1", Status: models.StatusFailed, Amount: 100, Source: "lookup"})
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "F-1", Status: models.StatusPaid, Source: "refresh"})
	paid := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "P-1", Status: models.StatusPaid, Amount: 100, Source: "lookup"})
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "P-1", Status: models.StatusRefunded, Source: "refresh"})
	closed := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "C-1", Status: models.StatusClosed, Amount: 100, Source: "lookup"})
	u := paidUpdate(a, "mch1", "C-1")
	if _, err := s.SaveNotification(ctx, validNote(a, "mch1", "C-1", "dc"), &u); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDrift(ctx, paid.ID, models.StatusPending, models.DriftResync); err != nil {
		t.Fatal(err)
	}

	r, err := s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]models.DriftRow{}
	for _, d := range r.Disagreements {
		got[d.OrderID] = d
	}
	if r.DisagreementsTotal != 3 || len(got) != 3 {
		t.Fatalf("disagreements = %d (%v), want 3", r.DisagreementsTotal, r.Disagreements)
	}
	if d := got[failed.ID]; d.CachedStatus != models.StatusFailed || d.ReportedStatus != models.StatusPaid || !d.Accepted ||
		d.Source != models.DriftRecheck || d.Order.Status != models.StatusPaid {
		t.Errorf("failed → paid drift = %+v", d)
	}
	if d := got[closed.ID]; d.CachedStatus != models.StatusClosed || d.Source != models.DriftNotification || !d.Accepted {
		t.Errorf("closed → paid by a notification = %+v", d)
	}
	if d := got[paid.ID]; d.CachedStatus != models.StatusRefunded || d.ReportedStatus != models.StatusPending || d.Accepted || d.Source != models.DriftResync {
		t.Errorf("refused answer = %+v (the paid → refunded move must not be drift)", d)
	}
	if r2, _ := s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch2"}}); r2.DisagreementsTotal != 0 {
		t.Errorf("another mid sees %d disagreements", r2.DisagreementsTotal)
	}
}

// The drift page's other lists: paid orders no notification told us about,
// and orders open longer than the threshold.
func TestDriftReportUnnotifiedAndOpen(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "D", "mch1")
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	old := now.Add(-time.Hour)
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "SYNCED", Status: models.StatusPaid, Amount: 100, Source: "sync"})
	u := paidUpdate(a, "mch1", "TOLD")
	if _, err := s.SaveNotification(ctx, validNote(a, "mch1", "TOLD", "dt"), &u); err != nil {
		t.Fatal(err)
	}
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "OLD-OPEN", Status: models.StatusPending, Amount: 100, Source: "link", CreatedAt: &old})
	mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "NEW-OPEN", Status: models.StatusPending, Amount: 100, Source: "link"})
	r, err := s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch1"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.UnnotifiedTotal != 1 || len(r.Unnotified) != 1 || r.Unnotified[0].MchOrderNo != "SYNCED" {
		t.Errorf("unnotified = %d %v, want SYNCED only", r.UnnotifiedTotal, r.Unnotified)
	}
	if r.OpenTotal != 1 || len(r.Open) != 1 || r.Open[0].MchOrderNo != "OLD-OPEN" {
		t.Errorf("open too long = %d %v, want OLD-OPEN only", r.OpenTotal, r.Open)
	}
	r, _ = s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch1"}, OpenTooLong: 2 * time.Hour})
	if r.OpenTotal != 0 {
		t.Errorf("open longer than 2 h = %d, want 0", r.OpenTotal)
	}
	if ids := (&models.DriftReport{Unnotified: []models.Order{{ID: 1}}, Open: []models.Order{{ID: 1}, {ID: 2}}}).OrderIDs(); len(ids) != 2 {
		t.Errorf("OrderIDs = %v, want 2 distinct", ids)
	}
}

// The same refusal heard on every re-sync is one disagreement, not one per
// re-sync; a different answer is a new one.
func TestDriftSameRefusalRecordedOnce(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "D", "mch1")
	paid := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "P-1", Status: models.StatusPaid, Amount: 100, Source: "lookup"})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.RecordDrift(ctx, paid.ID, models.StatusPending, models.DriftResync); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := func() int64 {
		r, err := s.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch1"}})
		if err != nil {
			t.Fatal(err)
		}
		return r.DisagreementsTotal
	}
	if n := total(); n != 1 {
		t.Errorf("five re-syncs hearing the same refusal: %d disagreements, want 1", n)
	}
	if err := s.RecordDrift(ctx, paid.ID, models.StatusClosed, models.DriftResync); err != nil {
		t.Fatal(err)
	}
	if n := total(); n != 2 {
		t.Errorf("after a different answer: %d disagreements, want 2", n)
	}
}
