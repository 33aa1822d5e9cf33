package main

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

// expectLang fails unless the page's <html lang> becomes lang.
func expectLang(tb testing.TB, page playwright.Page, lang string) {
	tb.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(page.Locator("html")).ToHaveAttribute("lang", lang); err != nil {
		tb.Fatalf("page language is not %s: %v", lang, err)
	}
}

// The footer's language buttons (a POST form with the CSRF token) switch
// the sign-in page for a signed-out visitor, and a signed-in person's pages
// to Thai and back, staying on the page; without JavaScript too.
func TestE2ELanguageSwitch(t *testing.T) {
	app := startApp(t, map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)})
	page := newPage(t)

	// Signed out, on the sign-in page.
	if _, err := page.Goto(app.URL + "/login"); err != nil {
		t.Fatal(err)
	}
	expectLang(t, page, "en")
	must(t, page.GetByTestId("lang-th").Click())
	expectURL(t, page, `/login$`)
	expectLang(t, page, "th")
	must(t, page.GetByTestId("lang-en").Click())
	expectURL(t, page, `/login$`)
	expectLang(t, page, "en")

	// Signed in: to Thai and back, on the same page, kept across reloads.
	signInOwner(t, page, app)
	if _, err := page.Goto(app.URL + "/m/mch35000/orders?status=paid"); err != nil {
		t.Fatal(err)
	}
	expectLang(t, page, "en")
	expectVisible(t, page.GetByTestId("nav-nav.orders").GetByText("Orders"))
	must(t, page.GetByTestId("lang-th").Click())
	expectURL(t, page, `/m/mch35000/orders\?status=paid$`)
	expectLang(t, page, "th")
	expectVisible(t, page.GetByTestId("nav-nav.orders").GetByText("คำสั่งซื้อ"))
	if _, err := page.Reload(); err != nil {
		t.Fatal(err)
	}
	expectLang(t, page, "th")
	must(t, page.GetByTestId("lang-en").Click())
	expectURL(t, page, `/m/mch35000/orders\?status=paid$`)
	expectLang(t, page, "en")
	expectVisible(t, page.GetByTestId("nav-nav.orders").GetByText("Orders"))

	// Without JavaScript: a plain form post.
	bctx, err := pwBrowser.NewContext(playwright.BrowserNewContextOptions{
		Locale: playwright.String("en-US"), JavaScriptEnabled: playwright.Bool(false)})
	must(t, err)
	t.Cleanup(func() { _ = bctx.Close() })
	noJS, err := bctx.NewPage()
	must(t, err)
	noJS.SetDefaultTimeout(10000)
	if _, err := noJS.Goto(app.URL + "/login"); err != nil {
		t.Fatal(err)
	}
	must(t, noJS.GetByTestId("lang-th").Click())
	expectURL(t, noJS, `/login$`)
	expectLang(t, noJS, "th")
}
