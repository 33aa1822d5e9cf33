package models_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// Walking forwards with Next and back with Prev gives the same pages, in
// every sort order.
func TestListOrdersPagePrevAndNext(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var us []models.OrderUpdate
	for i := 0; i < 70; i++ {
		at := t0.Add(time.Duration(i%35) * time.Minute) // ties on created_at: the id breaks them
		us = append(us, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: fmt.Sprintf("P-%03d", i),
			Amount: int64(100 + i%7), Status: models.StatusPaid, CreatedAt: &at, Source: "seed"})
	}
	if _, err := s.UpsertOrders(ctx, us); err != nil {
		t.Fatal(err)
	}
	for _, sort := range models.Sorts {
		t.Run(sort, func(t *testing.T) {
			f := models.OrderFilter{Mids: []string{"mch1"}, Sort: sort, Limit: 25}
			var forward [][]int64
			var prevs []string
			for {
				p, err := s.ListOrdersPage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				forward = append(forward, ids(p.Rows))
				prevs = append(prevs, p.Prev)
				if p.Next == "" {
					break
				}
				f.After, f.Before = p.Next, ""
			}
			if len(forward) != 3 || len(forward[2]) != 20 || prevs[0] != "" || prevs[1] == "" {
				t.Fatalf("pages = %d (last %d rows), prevs = %q", len(forward), len(forward[len(forward)-1]), prevs)
			}
			seen := map[int64]bool{}
			for _, pg := range forward {
				for _, id := range pg {
					if seen[id] {
						t.Fatalf("order %d on two pages", id)
					}
					seen[id] = true
				}
			}
			// Back from the last page.
			f.After, f.Before = "", prevs[2]
			for i := 1; i >= 0; i-- {
				p, err := s.ListOrdersPage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(p.Rows), forward[i]) {
					t.Fatalf("page %d backwards = %v, want %v", i, ids(p.Rows), forward[i])
				}
				if p.Next == "" {
					t.Errorf("page %d backwards has no Next", i)
				}
				if (i == 0) != (p.Prev == "") {
					t.Errorf("page %d backwards: Prev = %q", i, p.Prev)
				}
				f.Before = p.Prev
			}
		})
	}
	if _, err := s.ListOrdersPage(ctx, models.OrderFilter{Mids: []string{"mch1"}, Before: "no-dot"}); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("bad Before cursor: %v, want EINVALID", err)
	}
}

func ids(os []models.Order) []int64 {
	out := make([]int64, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// A v3 order_query about the KsherPay order behind a payment link (its
// pay_mch_order_no) updates the link's row instead of adding a second one.
func TestUpsertOrderAnswerAboutLinkUpdatesLinkRow(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	link := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", Kind: models.OrderKindLink, MchOrderNo: "LINK-1",
		GatewayOrderNo: "2301011200001234", Amount: 5000, Status: models.StatusPending, Source: "link"})
	got := mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", Kind: models.OrderKindKsherPay, MchOrderNo: "2301011200001234",
		KsherOrderNo: "90020230101120000000001", Status: models.StatusPaid, Checked: true, Source: "refresh"})
	if got.ID != link.ID || got.MchOrderNo != "LINK-1" || got.Kind != models.OrderKindLink || got.Status != models.StatusPaid {
		t.Errorf("answer stored as %+v, want the link's row paid", got)
	}
	rows, _, err := s.ListOrders(ctx, models.OrderFilter{Mids: []string{"mch1"}})
	if err != nil || len(rows) != 1 {
		t.Errorf("rows = %d, %v; want 1", len(rows), err)
	}
}

// Refunds Ksher reports are recorded once, drive the refunded total and
// state, and make the order findable by each refund number.
func TestUpsertOrderRecordsReportedRefunds(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	u := models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "R-1", Amount: 10000, Status: models.StatusPaid, Source: "seed",
		Refunds: []models.RefundSeen{{MchRefundNo: "RF-1", KsherRefundNo: "70020260101000000000001", ChannelRefundNo: "CH-RF-1", Amount: 2500}}}
	o := mustOrder(t, s, u)
	if o.Refunded != 2500 || o.Status != models.StatusPartiallyRefunded || o.Refundable() != 7500 {
		t.Fatalf("after a partial refund: refunded %d, status %s, refundable %d", o.Refunded, o.Status, o.Refundable())
	}
	o = mustOrder(t, s, u) // the same report again
	if o.Refunded != 2500 {
		t.Errorf("replayed report: refunded = %d, want 2500", o.Refunded)
	}
	for _, id := range []string{"RF-1", "70020260101000000000001", "CH-RF-1"} {
		hits, err := s.FindOrdersByAnyID(ctx, []string{"mch1"}, id)
		if err != nil || len(hits) != 1 || hits[0].MatchedBy != "refund" || hits[0].ID != o.ID {
			t.Errorf("find by refund number %s = %+v, %v", id, hits, err)
		}
	}
	u.Refunds = append(u.Refunds, models.RefundSeen{MchRefundNo: "RF-2", Amount: 7500})
	o = mustOrder(t, s, u)
	if o.Refunded != 10000 || o.Status != models.StatusRefunded || o.Refundable() != 0 {
		t.Errorf("after the rest: refunded %d, status %s", o.Refunded, o.Status)
	}
	rs, err := s.OrderRefunds(ctx, o.ID)
	if err != nil || len(rs) != 2 || rs[0].Status != "succeeded" {
		t.Errorf("refunds = %+v, %v", rs, err)
	}
}

func TestCachedOrderNosAndUpsertOrders(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1", "mch2")
	n, err := s.UpsertOrders(ctx, []models.OrderUpdate{
		{AccountID: a.ID, Mid: "mch1", MchOrderNo: "A", Amount: 1, Status: models.StatusPaid, Source: "seed"},
		{AccountID: a.ID, Mid: "mch2", MchOrderNo: "B", Amount: 1, Status: models.StatusPaid, Source: "seed"},
	})
	if err != nil || n != 2 {
		t.Fatalf("UpsertOrders = %d, %v", n, err)
	}
	got, err := s.CachedOrderNos(ctx, "mch1")
	if err != nil || len(got) != 1 || !got["A"] {
		t.Errorf("CachedOrderNos(mch1) = %v, %v", got, err)
	}
	// One bad update rolls back the whole batch.
	_, err = s.UpsertOrders(ctx, []models.OrderUpdate{
		{AccountID: a.ID, Mid: "mch1", MchOrderNo: "C", Amount: 1, Status: models.StatusPaid, Source: "seed"},
		{AccountID: a.ID, Mid: "mch1", Amount: 1, Source: "seed"},
	})
	if models.ErrorCode(err) != models.EINVALID {
		t.Errorf("batch with an invalid update: %v, want EINVALID", err)
	}
	if got, _ := s.CachedOrderNos(ctx, "mch1"); got["C"] {
		t.Errorf("a failed batch left order C behind")
	}
}

func TestLastUpstreamCall(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	at, _, err := s.LastUpstreamCall(ctx, "order:mch1:X")
	if err != nil || !at.IsZero() {
		t.Fatalf("never called: %v, %v", at, err)
	}
	if _, err := s.Upstream(ctx, "order:mch1:X", 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		return nil, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	at, found, err := s.LastUpstreamCall(ctx, "order:mch1:X")
	if err != nil || at.IsZero() || !found || time.Since(at) > time.Minute {
		t.Errorf("after a call: %v, found %v, %v", at, found, err)
	}
}

func TestSavedViews(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u1 := mustViewer(t, s, "a@example.com")
	u2 := mustViewer(t, s, "b@example.com")
	v, err := s.SaveView(ctx, u1.ID, "  Paid this week ", "status=paid&from=2026-11-16")
	if err != nil || v.Name != "Paid this week" || v.ID == 0 {
		t.Fatalf("SaveView = %+v, %v", v, err)
	}
	v2, err := s.SaveView(ctx, u1.ID, "Paid this week", "status=paid")
	if err != nil || v2.ID != v.ID {
		t.Fatalf("saving the same name again = %+v, %v; want the same view replaced", v2, err)
	}
	if _, err := s.SaveView(ctx, u2.ID, "Paid this week", "sort=oldest"); err != nil {
		t.Fatalf("another person's view of the same name: %v", err)
	}
	vs, err := s.SavedViews(ctx, u1.ID)
	if err != nil || len(vs) != 1 || vs[0].Query != "status=paid" {
		t.Errorf("SavedViews = %+v, %v", vs, err)
	}
	for _, bad := range []string{"", "   ", string(make([]rune, models.MaxSavedViewName+1))} {
		if _, err := s.SaveView(ctx, u1.ID, bad, "a=b"); models.ErrorCode(err) != models.EINVALID {
			t.Errorf("SaveView(%q) = %v, want EINVALID", bad, err)
		}
	}
	if err := s.DeleteSavedView(ctx, u2.ID, v.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("deleting another person's view = %v, want ENOTFOUND", err)
	}
	if err := s.DeleteSavedView(ctx, u1.ID, v.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	if vs, _ := s.SavedViews(ctx, u1.ID); len(vs) != 0 {
		t.Errorf("after delete: %d views", len(vs))
	}
}

func mustViewer(t *testing.T, s *models.Store, email string) *models.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: email, Password: "a long test password", Role: models.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The list's channel filter is served by an index: a channel with few or
// no orders on a mid must not read the mid's whole history (at 1,000,000
// orders that took 450 ms; the bar is 20 ms at p99).
func TestListOrdersByChannelUsesAnIndex(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1", "mch2")
	if err := s.ExecForBench(ctx, fmt.Sprintf(`
INSERT INTO orders (account_id, mid, kind, mch_order_no, status, amount, channel, created_at, source)
SELECT %d, 'mch' || (1 + g %% 2), 'ksherpay', 'P-' || g, 'paid', 100 + g, (ARRAY['promptpay','truemoney'])[1 + g %% 2],
       now() - g * interval '1 minute', 'seed'
FROM generate_series(1, 20000) g;
ANALYZE orders;`, a.ID)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []models.OrderFilter{
		{Mids: []string{"mch1"}, Channels: []string{"kplus"}},
		{Mids: []string{"mch1", "mch2"}, Channels: []string{"kplus"}},
		// Half the orders are truemoney, but none of mch1's.
		{Mids: []string{"mch1"}, Channels: []string{"truemoney"}},
	} {
		q, err := s.ListOrdersSQL(ctx, f)
		if err != nil || q == "" {
			t.Fatalf("list SQL: %q, %v", q, err)
		}
		var plan []string
		if err := s.RawForTest(ctx, "EXPLAIN "+q, &plan); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if !regexp.MustCompile(`Index Cond: .*channel`).MatchString(text) {
			t.Errorf("mids %v, channels %v: the plan does not look the channel up in an index:\n%s", f.Mids, f.Channels, text)
		}
	}
}
