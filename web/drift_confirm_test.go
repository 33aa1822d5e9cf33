package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

var (
	driftUnnotifiedRe   = regexp.MustCompile(`data-testid="drift-unnotified-row" data-order="([^"]+)"`)
	driftDisagreementRe = regexp.MustCompile(`data-testid="drift-disagreement" data-order="([^"]+)"`)
)

func driftOrders(re *regexp.Regexp, body string) []string {
	var nos []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		nos = append(nos, m[1])
	}
	slices.Sort(nos)
	return nos
}

// "Paid, but no notification" is settled by a re-sync that hears Ksher say
// the order is paid with the amount the cache holds: the order leaves the
// list, still without a notification, and nothing else about it changes.
// An order Ksher contradicts (pending, while the cache says paid) is not
// confirmed: the cache keeps its state, the page lists the disagreement the
// re-sync found, and the order stays in both lists until the cache learns
// otherwise (here: Ksher's notification arrives once the payer pays). An
// order Ksher reports with another amount takes Ksher's amount and is not
// confirmed by that answer.
func TestDriftResyncConfirmsPaidWithoutNotification(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	e.sb.SetWebhookURL("") // no vip webhooks: the cache learns only from what the test says
	vipLink := func(id string, amount int64, pay bool) {
		t.Helper()
		if _, err := e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: amount,
			Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
			t.Fatal(err)
		}
		if pay {
			if err := e.sb.Pay(id, "truemoney"); err != nil {
				t.Fatal(err)
			}
		}
	}
	cache := func(a *models.MerchantAccount, mid, kind, id string, amount int64) *models.Order {
		t.Helper()
		created := time.Now().Add(-time.Hour)
		o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: id, Kind: kind,
			Status: models.StatusPaid, Amount: amount, Source: "sync", CreatedAt: &created})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	vipLink("DC-PAID-1", 2500, true)
	vipLink("DC-PAID-2", 2500, true)
	vipLink("DC-AMOUNT", 2500, true)
	// A v3 link not paid yet, whose notification will reach the app.
	if _, err := e.v3c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookV3Mid, MerchantOrderID: "DC-OPEN", Amount: 4000,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail",
		NotifyURL: gateway.String(e.appURL + e.v3Path(e.v3.ID))}); err != nil {
		t.Fatal(err)
	}
	paid1 := cache(e.vip, hookVIPMid, "redirect", "DC-PAID-1", 2500)
	cache(e.vip, hookVIPMid, "redirect", "DC-PAID-2", 2500)
	amount := cache(e.vip, hookVIPMid, "redirect", "DC-AMOUNT", 3000)     // Ksher: 2500
	open := cache(e.v3, hookV3Mid, models.OrderKindLink, "DC-OPEN", 4000) // Ksher: not paid
	e.sb.ResetCalls()

	c := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid, hookVIPMid)
	const page = "/m/all/drift"
	_, body := c.get(page)
	if got := driftOrders(driftUnnotifiedRe, body); !slices.Equal(got, []string{"DC-AMOUNT", "DC-OPEN", "DC-PAID-1", "DC-PAID-2"}) {
		t.Fatalf("unnotified before = %v, want all four", got)
	}
	resync := func(o *models.Order, want ...string) string {
		t.Helper()
		resp, _ := c.post(page+"/"+strconv.FormatInt(o.ID, 10)+"/resync", url.Values{"csrf": {c.csrf}})
		loc := resp.Header.Get("Location")
		for _, w := range want {
			if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, w) {
				t.Errorf("re-sync %s = %d %s, want %s", o.MchOrderNo, resp.StatusCode, loc, w)
			}
		}
		return loc
	}

	// Ksher says paid, 25.00: confirmed, off the list, nothing else written.
	loc := resync(paid1, "asked=1", "changed=0", "confirmed=1", "failed=0")
	_, body = c.get(loc)
	if got := driftOrders(driftUnnotifiedRe, body); !slices.Equal(got, []string{"DC-AMOUNT", "DC-OPEN", "DC-PAID-2"}) {
		t.Errorf("unnotified after confirming DC-PAID-1 = %v", got)
	}
	if got := driftOrders(driftDisagreementRe, body); len(got) != 0 {
		t.Errorf("disagreements after a confirmation = %v, want none", got)
	}
	if !strings.Contains(body, `data-testid="drift-result-confirmed"`) || !strings.Contains(body, "Ksher confirmed 1 as paid with the same amount") {
		t.Errorf("the result does not say one order was confirmed:\n%s", body)
	}
	after := e.order(t, hookVIPMid, "DC-PAID-1")
	if after.Status != models.StatusPaid || after.Amount != 2500 || after.Refunded != 0 || after.NotifiedAt != nil || after.CheckedAt == nil {
		t.Errorf("DC-PAID-1 after re-sync = %+v, want paid 25.00, checked, still without a notification", after)
	}
	if at, err := e.store.PaidConfirmedAt(ctx, paid1.ID); err != nil || at == nil {
		t.Errorf("DC-PAID-1 confirmed at %v, %v; want a time", at, err)
	}
	as := e.audits(t, models.AuditResync)
	var details map[string]int
	if len(as) != 1 || json.Unmarshal(as[0].Details, &details) != nil || details["confirmed"] != 1 || details["asked"] != 1 {
		t.Errorf("audit = %+v, want one re-sync with asked 1, confirmed 1", as)
	}

	// Ksher says 25.00 where the cache said 30.00: the cache takes Ksher's
	// amount; that answer confirms nothing.
	resync(amount, "asked=1", "confirmed=0")
	if o := e.order(t, hookVIPMid, "DC-AMOUNT"); o.Amount != 2500 || o.Status != models.StatusPaid {
		t.Errorf("DC-AMOUNT after re-sync = %+v, want paid 25.00", o)
	}
	if at, _ := e.store.PaidConfirmedAt(ctx, amount.ID); at != nil {
		t.Errorf("DC-AMOUNT confirmed at %v by an answer with another amount", at)
	}

	// Ksher says DC-OPEN is not paid: the cache keeps paid (it never reopens
	// a final state), and the disagreement is listed, found by the re-sync.
	resync(open, "asked=1", "changed=0", "confirmed=0")
	_, body = c.get(page)
	if got := driftOrders(driftDisagreementRe, body); !slices.Equal(got, []string{"DC-OPEN"}) {
		t.Errorf("disagreements after re-syncing DC-OPEN = %v, want DC-OPEN", got)
	}
	if got := driftOrders(driftUnnotifiedRe, body); !slices.Equal(got, []string{"DC-AMOUNT", "DC-OPEN", "DC-PAID-2"}) {
		t.Errorf("unnotified after re-syncing DC-OPEN = %v, want it still there", got)
	}
	r, err := e.store.DriftReport(ctx, models.DriftFilter{Mids: []string{hookV3Mid, hookVIPMid}})
	if err != nil {
		t.Fatal(err)
	}
	if r.DisagreementsTotal != 1 || r.Disagreements[0].OrderID != open.ID || r.Disagreements[0].CachedStatus != models.StatusPaid ||
		r.Disagreements[0].ReportedStatus != models.StatusPending || r.Disagreements[0].Source != models.DriftResync ||
		r.Disagreements[0].Accepted || r.Disagreements[0].Order.Status != models.StatusPaid {
		t.Errorf("disagreements = %+v, want DC-OPEN: cached paid, Ksher pending, found by the re-sync, refused", r.Disagreements)
	}

	// Re-sync all: DC-PAID-2 is asked and confirmed; DC-AMOUNT and DC-OPEN
	// were asked under 10 s ago (each once, though DC-OPEN is in two lists).
	// It is a job (River works it); its page shows the counts.
	resp, _ := c.post(page+"/resync", url.Values{"csrf": {c.csrf}})
	e.startJobs(t)
	body = e.resyncDone(t, c, resp.Header.Get("Location"))
	if m := countsRe.FindStringSubmatch(body); m == nil || m[1] != "1" || m[2] != "2" || m[3] != "0" || m[4] != "1" || m[5] != "0" {
		t.Errorf("re-sync all counts (asked, skipped, changed, confirmed, failed) = %v, want 1 2 0 1 0", m)
	}
	_, body = c.get(page)
	if got := driftOrders(driftUnnotifiedRe, body); !slices.Equal(got, []string{"DC-AMOUNT", "DC-OPEN"}) {
		t.Errorf("unnotified after re-sync all = %v, want DC-AMOUNT and DC-OPEN", got)
	}
	if got := driftOrders(driftDisagreementRe, body); !slices.Equal(got, []string{"DC-OPEN"}) {
		t.Errorf("disagreements after re-sync all = %v, want DC-OPEN still", got)
	}

	// The payer pays DC-OPEN; Ksher's notification tells the cache. It
	// leaves "paid, but no notification"; the disagreement found earlier
	// stays on record, with the order's state now.
	if err := e.sb.Pay("DC-OPEN", "truemoney"); err != nil {
		t.Fatal(err)
	}
	e.waitDelivered(t, "DC-OPEN")
	if o := e.order(t, hookV3Mid, "DC-OPEN"); o.Status != models.StatusPaid || o.NotifiedAt == nil {
		t.Fatalf("DC-OPEN after its notification = %+v, want paid, notified", o)
	}
	_, body = c.get(page)
	if got := driftOrders(driftUnnotifiedRe, body); !slices.Equal(got, []string{"DC-AMOUNT"}) {
		t.Errorf("unnotified after DC-OPEN's notification = %v, want DC-AMOUNT only", got)
	}
	if got := driftOrders(driftDisagreementRe, body); !slices.Equal(got, []string{"DC-OPEN"}) {
		t.Errorf("disagreements after DC-OPEN's notification = %v, want DC-OPEN on record", got)
	}
	if n := e.sb.Calls("vip.redirect.query") + e.sb.Calls("gateway_order_query"); n != 4 {
		t.Errorf("queries = %d, want 4 (one per order)", n)
	}
}
