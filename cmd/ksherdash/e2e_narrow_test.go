package main

import (
	"testing"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

// On a phone (390 px wide) no page is wider than the screen: the header
// wraps, the filter grid takes one or two columns, and wide tables scroll
// inside their own box instead of widening the page.
func TestE2ENarrowScreenHasNoSidewaysScroll(t *testing.T) {
	app := startApp(t, map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)})
	page := newPage(t)
	must(t, page.SetViewportSize(390, 844))
	signInOwner(t, page, app)
	for _, path := range []string{"/m/mch35000", "/m/mch35000/orders", "/m/all/orders", "/m/all/events",
		"/m/all/drift", "/m/all/sync", "/people", "/accounts", "/audit", "/account/security", "/m/all/refunds",
		"first refund", "its order"} {
		switch path {
		case "first refund": // a seeded refund's page, then its order's (with the refund panel)
			must(t, page.GetByTestId("refunds-open").First().Click())
			expectVisible(t, page.GetByTestId("refund-title"))
		case "its order":
			must(t, page.GetByTestId("refund-order").Click())
			expectVisible(t, page.GetByTestId("order-panel"))
		default:
			if _, err := page.Goto(app.URL + path); err != nil {
				t.Fatal(err)
			}
		}
		w, err := page.Evaluate(`document.documentElement.scrollWidth`)
		must(t, err)
		if n, ok := w.(int); !ok || n > 390 {
			saveScreenshot(t, page)
			t.Errorf("%s: page is %v px wide on a 390 px screen", path, w)
		}
	}
}
