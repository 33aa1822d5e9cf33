package main

import (
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

// login fills the sign-in form.
func login(tb testing.TB, page playwright.Page, baseURL, email, password string) {
	tb.Helper()
	if _, err := page.Goto(baseURL + "/login"); err != nil {
		tb.Fatal(err)
	}
	must(tb, page.GetByTestId("login-email").Fill(email))
	must(tb, page.GetByTestId("login-password").Fill(password))
	must(tb, page.GetByTestId("login-submit").Click())
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// The first owner signs in with the printed one-time password, must choose a
// new one, sees the dashboard, signs out, and can sign in again with the new
// password but no longer with the old one.
func TestE2EOwnerFirstLogin(t *testing.T) {
	app := startApp(t, map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)})
	if app.Password == "" {
		t.Fatalf("no one-time password printed; stdout:\n%s", app.Stdout.String())
	}
	page := newPage(t)

	// A wrong password fails and says so.
	login(t, page, app.URL, "owner@example.com", "wrong-password-123")
	expectVisible(t, page.GetByTestId("login-error"))
	expectURL(t, page, `/login$`)

	// The one-time password works, and must be replaced first.
	login(t, page, app.URL, "owner@example.com", app.Password)
	expectURL(t, page, `/account/password$`)
	expectVisible(t, page.GetByTestId("password-forced"))
	const newPassword = "correct horse battery"
	must(t, page.GetByTestId("password-current").Fill(app.Password))
	must(t, page.GetByTestId("password-new").Fill(newPassword))
	must(t, page.GetByTestId("password-confirm").Fill(newPassword))
	must(t, page.GetByTestId("password-submit").Click())

	// Sandbox mode seeded the demo merchant: the owner lands on its first mid.
	expectURL(t, page, `/m/mch35000$`)
	expectVisible(t, page.GetByTestId("dashboard-title"))
	expectVisible(t, page.GetByTestId("mid-row-mch35618"))
	signedIn, err := page.GetByTestId("signed-in-at").TextContent()
	must(t, err)
	if !strings.Contains(signedIn, "Asia/Bangkok") {
		t.Errorf("signed-in time %q does not name the zone", signedIn)
	}
	expectVisible(t, page.GetByTestId("sandbox-banner"))

	// Sign out through the user menu.
	must(t, page.GetByTestId("user-menu").Click())
	must(t, page.GetByTestId("logout").Click())
	expectURL(t, page, `/login$`)
	if _, err := page.Goto(app.URL + "/"); err != nil {
		t.Fatal(err)
	}
	expectURL(t, page, `/login\?next=%2F$`)

	// The old one-time password no longer works; the new one does.
	login(t, page, app.URL, "owner@example.com", app.Password)
	expectVisible(t, page.GetByTestId("login-error"))
	login(t, page, app.URL, "owner@example.com", newPassword)
	expectURL(t, page, `/m/mch35000$`)
	expectVisible(t, page.GetByTestId("dashboard-title"))
}

// Thai is chosen from Accept-Language, and the footer switch sticks.
func TestE2ELanguage(t *testing.T) {
	app := startApp(t, map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)})
	page := newPageLocale(t, "th-TH")
	if _, err := page.Goto(app.URL + "/login"); err != nil {
		t.Fatal(err)
	}
	txt, err := page.GetByTestId("login-submit").TextContent()
	must(t, err)
	if txt != "เข้าสู่ระบบ" {
		t.Errorf("button = %q, want Thai", txt)
	}
	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "English"}).Click())
	expectURL(t, page, `/login$`)
	txt, err = page.GetByTestId("login-submit").TextContent()
	must(t, err)
	if txt != "Sign in" {
		t.Errorf("button after choosing English = %q, want %q", txt, "Sign in")
	}
}
