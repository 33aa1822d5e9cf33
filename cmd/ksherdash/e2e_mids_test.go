package main

import (
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

// signInOwner signs the first owner in and replaces the one-time password.
func signInOwner(t *testing.T, page playwright.Page, app *runningApp) {
	t.Helper()
	login(t, page, app.URL, "owner@example.com", app.Password)
	expectURL(t, page, `/account/password$`)
	const pw = "owner password 123"
	must(t, page.GetByTestId("password-current").Fill(app.Password))
	must(t, page.GetByTestId("password-new").Fill(pw))
	must(t, page.GetByTestId("password-confirm").Fill(pw))
	must(t, page.GetByTestId("password-submit").Click())
	expectURL(t, page, `/m/`)
}

func currentMid(t *testing.T, page playwright.Page) string {
	t.Helper()
	txt, err := page.GetByTestId("current-mid").TextContent()
	must(t, err)
	return strings.TrimSpace(txt)
}

// Switching mid on an orders URL with filters keeps the page and the
// filters; two tabs on two mids both stay on their own mid after reloads.
func TestE2EMidSwitchKeepsFiltersAndTabs(t *testing.T) {
	app := startApp(t, map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)})
	page := newPage(t)
	signInOwner(t, page, app)

	const query = "?status=paid&sort=amount_desc&limit=50"
	if _, err := page.Goto(app.URL + "/m/mch35000/orders" + query); err != nil {
		t.Fatal(err)
	}
	if got := currentMid(t, page); got != "mch35000" {
		t.Fatalf("current mid = %q", got)
	}
	must(t, page.GetByTestId("current-mid").Click())
	must(t, page.GetByTestId("switch-mch35001").Click())
	expectURL(t, page, `/m/mch35001/orders\?status=paid&sort=amount_desc&limit=50$`)
	if got := currentMid(t, page); got != "mch35001" {
		t.Errorf("after switching, current mid = %q", got)
	}

	// A second tab (same browser session) on another mid.
	tab2, err := page.Context().NewPage()
	must(t, err)
	if _, err := tab2.Goto(app.URL + "/m/mch35618/orders" + query); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := page.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := tab2.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := currentMid(t, page); got != "mch35001" {
			t.Errorf("tab 1 after reload %d shows %q, want mch35001", i, got)
		}
		if got := currentMid(t, tab2); got != "mch35618" {
			t.Errorf("tab 2 after reload %d shows %q, want mch35618", i, got)
		}
		expectURL(t, page, `/m/mch35001/orders\?status=paid`)
		expectURL(t, tab2, `/m/mch35618/orders\?status=paid`)
	}
}
