package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/gateway"
)

// Refunds in Chromium against the real program in sandbox mode (its River
// client sends and reconciles them), on both Ksher APIs.

var refundAPIs = []struct {
	name, mid string
	kind      gateway.APIKind
}{{"v3", "mch35000", gateway.APIV3}, {"vip", "mch35618", gateway.APIVIP}}

// paidOrderPage makes a paid 100.00 THB TrueMoney order in the sandbox
// (partial refunds allowed), finds it with the search box as a person
// would, and opens its page.
func (a *ordersApp) paidOrderPage(t *testing.T, page playwright.Page, kind gateway.APIKind, mid, id string) string {
	t.Helper()
	qr, err := a.gatewayClient(t, kind).Counter.QR(context.Background(), &gateway.QRParams{Mid: mid, MerchantOrderID: id, Amount: 10000, Channel: "truemoney"})
	must(t, err)
	resp, err := http.PostForm(a.URL+"/sandbox/_sandbox/pay", url.Values{"order": {qr.MerchantOrderID}, "mid": {mid}})
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay %s = %d", id, resp.StatusCode)
	}
	if _, err := page.Goto(a.URL + "/m/" + mid + "/search?q=" + id); err != nil {
		t.Fatal(err)
	}
	must(t, page.GetByTestId("search-hit-link").First().Click())
	expectVisible(t, page.GetByTestId("refund-panel"))
	return page.URL()
}

// sandboxRefunds is how many refunds the sandbox holds for order id.
func (a *ordersApp) sandboxRefunds(t *testing.T, id string) int {
	t.Helper()
	var orders []sandboxOrder
	a.getJSON(t, "/sandbox/_sandbox/orders", &orders)
	for _, o := range orders {
		if o.MchOrderNo == id {
			return len(o.Refunds)
		}
	}
	t.Fatalf("the sandbox has no order %s", id)
	return 0
}

// expectRefundState waits (polling is the panel's own, every 2 s) until the
// refund shown on page reaches state.
func expectRefundState(t *testing.T, page playwright.Page, state string) string {
	t.Helper()
	box := page.Locator(fmt.Sprintf(`[data-testid="refund-state"][data-status=%q]`, state))
	if err := playwright.NewPlaywrightAssertions(30000).Locator(box).ToBeVisible(); err != nil {
		status, _ := page.GetByTestId("refund-state").GetAttribute("data-status")
		t.Fatalf("refund not %s (now %q): %v", state, status, err)
	}
	no, err := box.GetAttribute("data-refund-no")
	must(t, err)
	return no
}

func fillRefund(t *testing.T, page playwright.Page, amount, reason string) {
	t.Helper()
	if amount != "" {
		must(t, page.GetByTestId("refund-amount").Fill(amount))
	}
	must(t, page.GetByTestId("refund-reason").Fill(reason))
	if n, _ := page.GetByTestId("refund-password").Count(); n > 0 {
		must(t, page.GetByTestId("refund-password").Fill(ordersPassword))
	}
}

// refundRowsOf counts the refunds list's rows of order id on mid.
func refundRowsOf(t *testing.T, a *ordersApp, page playwright.Page, mid, id string) int {
	t.Helper()
	if _, err := page.Goto(a.URL + "/m/" + mid + "/refunds"); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, page.GetByTestId("refunds-title"))
	n, err := page.Locator(fmt.Sprintf(`[data-testid="refunds-row"][data-order=%q]`, id)).Count()
	must(t, err)
	return n
}

// Acceptance: a partial refund, then "refund the rest": the order ends
// fully refunded and the list shows both refunds.
func TestE2ERefundPartialThenTheRest(t *testing.T) {
	a := startOrdersApp(t)
	for _, api := range refundAPIs {
		t.Run(api.name, func(t *testing.T) {
			id := fmt.Sprintf("E2E-RF-%s-%d", api.name, time.Now().UnixNano()%1e6)
			detail := a.paidOrderPage(t, a.page, api.kind, api.mid, id)
			expectVisible(t, a.page.GetByTestId("rule-partial"))
			shootRefunds(t, a.page, "panel-"+api.name)
			fillRefund(t, a.page, "30.00", "Damaged box")
			must(t, a.page.GetByTestId("refund-submit").Click())
			first := expectRefundState(t, a.page, "succeeded")
			shootRefunds(t, a.page, "panel-done-"+api.name)
			if _, err := a.page.Goto(detail); err != nil {
				t.Fatal(err)
			}
			expectVisible(t, a.page.GetByTestId("stepup-valid"))
			if txt, _ := a.page.GetByTestId("refund-remaining").TextContent(); txt != "70.00THB" {
				t.Errorf("remaining after 30.00 = %q, want 70.00THB", txt)
			}
			fillRefund(t, a.page, "", "The rest, customer cancelled")
			must(t, a.page.GetByTestId("refund-full").Click())
			second := expectRefundState(t, a.page, "succeeded")
			if second == first {
				t.Errorf("the rest used the first refund's number %s", first)
			}
			if _, err := a.page.Goto(detail); err != nil {
				t.Fatal(err)
			}
			expectVisible(t, a.page.Locator(`[data-testid="order-title"] [data-status="refunded"]`))
			expectVisible(t, a.page.GetByTestId("refund-blocked"))
			if n := refundRowsOf(t, a, a.page, api.mid, id); n != 2 {
				t.Errorf("refunds list rows of %s = %d, want 2", id, n)
			}
			shootRefunds(t, a.page, "list-"+api.name)
			must(t, a.page.Locator(fmt.Sprintf(`[data-testid="refunds-row"][data-order=%q] [data-testid="refunds-open"]`, id)).First().Click())
			expectVisible(t, a.page.Locator(`[data-testid="refund-title"] [data-status="succeeded"]`))
			shootRefunds(t, a.page, "page-"+api.name)
			if n := a.sandboxRefunds(t, id); n != 2 {
				t.Errorf("sandbox refunds of %s = %d, want 2", id, n)
			}
		})
	}
}

// Acceptance: a double click on the button makes one refund, and two tabs
// (one person) show the same refund number and submitting both makes one.
func TestE2ERefundDoubleClickAndTwoTabs(t *testing.T) {
	a := startOrdersApp(t)
	for _, api := range refundAPIs {
		t.Run(api.name+" double click", func(t *testing.T) {
			id := fmt.Sprintf("E2E-DBL-%s-%d", api.name, time.Now().UnixNano()%1e6)
			a.paidOrderPage(t, a.page, api.kind, api.mid, id)
			fillRefund(t, a.page, "12.00", "Double click")
			must(t, a.page.GetByTestId("refund-submit").Dblclick())
			expectRefundState(t, a.page, "succeeded")
			if n := refundRowsOf(t, a, a.page, api.mid, id); n != 1 {
				t.Errorf("refunds after a double click = %d, want 1", n)
			}
			if n := a.sandboxRefunds(t, id); n != 1 {
				t.Errorf("sandbox refunds after a double click = %d, want 1", n)
			}
		})
		t.Run(api.name+" two tabs", func(t *testing.T) {
			id := fmt.Sprintf("E2E-TAB-%s-%d", api.name, time.Now().UnixNano()%1e6)
			detail := a.paidOrderPage(t, a.page, api.kind, api.mid, id)
			tab2, err := a.page.Context().NewPage()
			must(t, err)
			defer tab2.Close()
			if _, err := tab2.Goto(detail); err != nil {
				t.Fatal(err)
			}
			no1, err := a.page.GetByTestId("refund-no").InputValue()
			must(t, err)
			no2, err := tab2.GetByTestId("refund-no").InputValue()
			must(t, err)
			if no1 == "" || no1 != no2 {
				t.Fatalf("tabs carry refund numbers %q and %q, want the same", no1, no2)
			}
			fillRefund(t, a.page, "15.00", "Two tabs")
			fillRefund(t, tab2, "15.00", "Two tabs")
			must(t, a.page.GetByTestId("refund-submit").Click())
			got1 := expectRefundState(t, a.page, "succeeded")
			must(t, tab2.GetByTestId("refund-submit").Click())
			got2 := expectRefundState(t, tab2, "succeeded")
			if got1 != no1 || got2 != no1 {
				t.Errorf("tabs show refunds %s and %s, want both %s", got1, got2, no1)
			}
			if n := refundRowsOf(t, a, a.page, api.mid, id); n != 1 {
				t.Errorf("refunds after two tabs = %d, want 1", n)
			}
			if n := a.sandboxRefunds(t, id); n != 1 {
				t.Errorf("sandbox refunds after two tabs = %d, want 1", n)
			}
		})
	}
}

// shootRefunds saves the page at 1366 and 390 px wide under E2E_SHOTS
// (nothing when unset), to look at.
func shootRefunds(t *testing.T, page playwright.Page, name string) {
	dir := os.Getenv("E2E_SHOTS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	defer func() { _ = page.SetViewportSize(1280, 720) }()
	for _, w := range []int{1366, 390} {
		if err := page.SetViewportSize(w, 900); err != nil {
			t.Logf("viewport %d: %v", w, err)
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("refund-%s-%d.png", name, w))
		if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path), FullPage: playwright.Bool(true)}); err != nil {
			t.Logf("screenshot %s: %v", name, err)
		}
		// The panel alone, at the size it is seen.
		if n, _ := page.Locator("#refund-panel").Count(); n > 0 {
			path = filepath.Join(dir, fmt.Sprintf("refund-%s-%d-panel.png", name, w))
			_, _ = page.Locator("#refund-panel").Screenshot(playwright.LocatorScreenshotOptions{Path: playwright.String(path)})
		}
	}
}

// Acceptance: a refund whose answer Ksher garbles is unknown, never sent
// again; once the reconciler gives up (REFUND_RECONCILE_FOR, here at once)
// the drift page lists it as needing a person, who decides it there.
func TestE2ERefundUnknownIsDecidedOnTheDriftPage(t *testing.T) {
	a := startOrdersAppEnv(t, map[string]string{"REFUND_RECONCILE_FOR": "1ms"})
	id := fmt.Sprintf("E2E-UNK-%d", time.Now().UnixNano()%1e6)
	a.paidOrderPage(t, a.page, gateway.APIV3, "mch35000", id)
	resp, err := http.Post(a.URL+"/sandbox/_sandbox/faults", "application/json",
		strings.NewReader(`{"op": "order_refund", "kind": "malformed", "next": 1}`))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("add fault = %d", resp.StatusCode)
	}
	fillRefund(t, a.page, "25.00", "Unclear answer")
	must(t, a.page.GetByTestId("refund-submit").Click())
	no := expectRefundState(t, a.page, "unknown")
	row := a.page.Locator(fmt.Sprintf(`[data-testid="drift-refund-row"][data-refund=%q][data-needs-person="true"]`, no))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if _, err := a.page.Goto(a.URL + "/m/all/drift"); err != nil {
			t.Fatal(err)
		}
		if n, _ := row.Count(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %s never listed as needing a person", no)
		}
	}
	expectVisible(t, row.GetByTestId("drift-refund-needs-person"))
	shootRefunds(t, a.page, "drift")
	must(t, row.GetByTestId("resolve-succeeded").Check())
	must(t, row.GetByTestId("resolve-reason").Fill("Seen in Ksher's portal"))
	must(t, row.GetByTestId("resolve-submit").Click())
	expectURL(t, a.page, `/m/mch35000/refunds/\d+$`)
	expectVisible(t, a.page.Locator(`[data-testid="refund-title"] [data-status="succeeded"]`))
	expectVisible(t, a.page.GetByTestId("refund-resolution"))
	if n := a.sandboxRefunds(t, id); n != 1 {
		t.Errorf("sandbox refunds of %s = %d, want 1 (never sent again)", id, n)
	}
	must(t, a.page.GetByTestId("refund-order").Click())
	expectVisible(t, a.page.Locator(`[data-testid="order-title"] [data-status="partially_refunded"]`))
}
