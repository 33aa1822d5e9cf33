package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

const peopleSecretKey = "e2e people secret key, at least 32 characters long"

// peopleApp starts the program with a known SECRET_KEY and creates a vip
// merchant account with two mids directly in its database (the accounts
// pages are tested on their own).
func peopleApp(t *testing.T, mids ...string) *runningApp {
	t.Helper()
	app, _ := peopleAppDSN(t, mids...)
	return app
}

// peopleAppDSN is peopleApp, also returning the database's DSN for tests
// that set people up directly.
func peopleAppDSN(t *testing.T, mids ...string) (*runningApp, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dsn, "SECRET_KEY": peopleSecretKey})
	store, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	store.SetSecretKey([]byte(peopleSecretKey))
	in := models.AccountInput{Name: "E2E People", APIKind: models.APIVIP, BaseURL: "https://sandbox.vip.ksher.net", Sandbox: true}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m, Name: "Shop " + m[len(m)-1:]})
	}
	if _, err := store.SaveAccount(context.Background(), models.SandboxSetup(), 0, in); err != nil {
		t.Fatal(err)
	}
	return app, dsn
}

// peopleSignIn signs in with a one-time password and replaces it.
func peopleSignIn(t *testing.T, page playwright.Page, app *runningApp, email, oneTime, newPassword string) {
	t.Helper()
	login(t, page, app.URL, email, oneTime)
	expectURL(t, page, `/account/password$`)
	expectVisible(t, page.GetByTestId("password-forced"))
	must(t, page.GetByTestId("password-current").Fill(oneTime))
	must(t, page.GetByTestId("password-new").Fill(newPassword))
	must(t, page.GetByTestId("password-confirm").Fill(newPassword))
	must(t, page.GetByTestId("password-submit").Click())
	expectVisible(t, page.GetByTestId("dashboard-title"))
}

// shoot saves light and dark screenshots of the page when E2E_SCREENSHOTS
// names a folder (for people to look at; the test asserts the rest).
func shoot(t *testing.T, page playwright.Page, name string) {
	t.Helper()
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	must(t, os.MkdirAll(dir, 0o755))
	for _, scheme := range []struct {
		name string
		cs   *playwright.ColorScheme
	}{{"light", playwright.ColorSchemeLight}, {"dark", playwright.ColorSchemeDark}} {
		must(t, page.EmulateMedia(playwright.PageEmulateMediaOptions{ColorScheme: scheme.cs}))
		_, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join(dir, name+"-"+scheme.name+".png")), FullPage: playwright.Bool(true)})
		must(t, err)
	}
	must(t, page.EmulateMedia(playwright.PageEmulateMediaOptions{ColorScheme: playwright.ColorSchemeLight}))
}

func gotoStatus(t *testing.T, page playwright.Page, url string) int {
	t.Helper()
	resp, err := page.Goto(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Status()
}

// The acceptance test of people and roles: the owner creates a support
// person limited to one of two mids; that person signs in, sees only that
// mid, and cannot reach the other mid, the accounts or the people pages.
func TestE2EOwnerCreatesSupportLimitedToOneMid(t *testing.T) {
	app := peopleApp(t, "mch71001", "mch71002")
	if app.Password == "" {
		t.Fatalf("no one-time password printed; stdout:\n%s", app.Stdout.String())
	}
	page := newPage(t)
	peopleSignIn(t, page, app, "owner@example.com", app.Password, "owner password 123")

	must(t, page.GetByTestId("nav-people").Click())
	expectURL(t, page, `/people$`)
	must(t, page.GetByTestId("person-new").Click())
	expectURL(t, page, `/people/new$`)
	expectVisible(t, page.GetByTestId("role-mch71002"))
	shoot(t, page, "people-new")

	// A cap with more decimals than baht has is refused, and nothing is lost.
	must(t, page.GetByTestId("person-email").Fill("support@example.com"))
	must(t, page.GetByTestId("person-name").Fill("Somchai Support"))
	_, err := page.GetByTestId("role-mch71001").SelectOption(playwright.SelectOptionValues{Values: &[]string{"support"}})
	must(t, err)
	must(t, page.GetByTestId("cap-mch71001").Fill("500.505"))
	must(t, page.GetByTestId("sameday-mch71001").Check())
	must(t, page.GetByTestId("person-submit").Click())
	expectVisible(t, page.GetByTestId("error-cap-mch71001"))
	if v, _ := page.GetByTestId("person-email").InputValue(); v != "support@example.com" {
		t.Errorf("email after a refused form = %q", v)
	}
	shoot(t, page, "people-new-error")
	must(t, page.GetByTestId("cap-mch71001").Fill("1,500.50"))
	must(t, page.GetByTestId("person-submit").Click())
	expectVisible(t, page.GetByTestId("person-created"))
	oneTime, err := page.GetByTestId("one-time-password").TextContent()
	must(t, err)
	oneTime = strings.TrimSpace(oneTime)
	if len(oneTime) < models.MinPasswordLength {
		t.Fatalf("one-time password %q", oneTime)
	}
	shoot(t, page, "people-created")
	must(t, page.GetByTestId("back-to-people").Click())
	row := page.GetByTestId("person-support@example.com")
	expectVisible(t, row)
	if txt, _ := row.TextContent(); !strings.Contains(txt, "1,500.50 THB") || !strings.Contains(txt, "Support") || strings.Contains(txt, "mch71002") {
		t.Errorf("people row = %q, want support on mch71001 only, capped at 1,500.50 THB", txt)
	}
	shoot(t, page, "people-list")

	// The support person, in another browser.
	sp := newPage(t)
	peopleSignIn(t, sp, app, "support@example.com", oneTime, "support password 123")
	expectURL(t, sp, `/m/mch71001$`)
	must(t, sp.GetByTestId("mid-switcher").Locator("summary").Click())
	expectVisible(t, sp.GetByTestId("switch-mch71001"))
	for _, hidden := range []string{"switch-mch71002", "switch-all", "nav-people", "nav-accounts"} {
		if n, err := sp.GetByTestId(hidden).Count(); err != nil || n != 0 {
			t.Errorf("support sees %s (%d, %v)", hidden, n, err)
		}
	}
	if st := gotoStatus(t, sp, app.URL+"/m/mch71002"); st != 404 {
		t.Errorf("the other mid typed by hand = %d, want 404", st)
	}
	expectVisible(t, sp.GetByTestId("error"))
	if st := gotoStatus(t, sp, app.URL+"/people"); st != 403 && st != 404 {
		t.Errorf("/people as support = %d, want 403 or 404", st)
	}
	// /accounts is owners-only (403 for everyone else).
	if st := gotoStatus(t, sp, app.URL+"/accounts"); st != 403 && st != 404 {
		t.Errorf("/accounts as support = %d, want 403 or 404", st)
	}
	if st := gotoStatus(t, sp, app.URL+"/people/new"); st != 403 && st != 404 {
		t.Errorf("/people/new as support = %d, want 403 or 404", st)
	}
	// Their own security page lists this browser's session.
	if st := gotoStatus(t, sp, app.URL+"/account/security"); st != 200 {
		t.Fatalf("/account/security = %d", st)
	}
	expectVisible(t, sp.GetByTestId("session-current"))

	// The owner disables them: their next page is the sign-in form.
	if st := gotoStatus(t, page, app.URL+"/people"); st != 200 {
		t.Fatalf("/people = %d", st)
	}
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "support@example.com"}).Click())
	expectVisible(t, page.GetByTestId("person-title"))
	page.OnDialog(func(d playwright.Dialog) { _ = d.Accept() })
	must(t, page.GetByTestId("person-disable").Click())
	expectVisible(t, page.GetByTestId("person-disabled"))
	if _, err := sp.Goto(app.URL + "/m/mch71001"); err != nil {
		t.Fatal(err)
	}
	expectURL(t, sp, `/login\?next=`)
}

var spaceRe = regexp.MustCompile(`\s+`)

// Two-factor sign-in through the browser: set up with the QR page's key,
// recovery codes shown once, then a sign-in that asks for the code.
func TestE2ETwoFactorSignIn(t *testing.T) {
	app := peopleApp(t, "mch72001")
	page := newPage(t)
	const pw = "owner password 123"
	peopleSignIn(t, page, app, "owner@example.com", app.Password, pw)

	must(t, page.GetByTestId("user-menu").Click())
	must(t, page.GetByTestId("nav-security").Click())
	expectURL(t, page, `/account/security$`)
	expectVisible(t, page.GetByTestId("session-current"))
	shoot(t, page, "security")
	must(t, page.GetByTestId("totp-begin").Click())
	expectVisible(t, page.GetByTestId("totp-qr"))
	secret, err := page.GetByTestId("totp-secret").TextContent()
	must(t, err)
	secret = spaceRe.ReplaceAllString(secret, "")
	shoot(t, page, "security-totp-setup")
	code, err := totp.GenerateCode(secret, time.Now())
	must(t, err)
	// Turning it on needs the password: a wrong one is said so, and the
	// same code still works with the right one.
	must(t, page.GetByTestId("totp-code").Fill(code))
	must(t, page.GetByTestId("totp-password").Fill("not my password"))
	must(t, page.GetByTestId("totp-confirm").Click())
	expectVisible(t, page.GetByTestId("totp-password-error"))
	must(t, page.GetByTestId("totp-code").Fill(code))
	must(t, page.GetByTestId("totp-password").Fill(pw))
	must(t, page.GetByTestId("totp-confirm").Click())
	expectVisible(t, page.GetByTestId("totp-enabled"))
	codes, err := page.GetByTestId("recovery-code").AllTextContents()
	must(t, err)
	if len(codes) != models.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d", len(codes), models.RecoveryCodeCount)
	}
	must(t, page.GetByTestId("codes-done").Click())
	expectVisible(t, page.GetByTestId("recovery-left"))
	shoot(t, page, "security-totp-on")

	// Sign out; the password alone no longer signs in.
	must(t, page.GetByTestId("user-menu").Click())
	must(t, page.GetByTestId("logout").Click())
	expectURL(t, page, `/login$`)
	login(t, page, app.URL, "owner@example.com", pw)
	expectVisible(t, page.GetByTestId("login-code"))
	shoot(t, page, "login-2fa")
	if st := gotoStatus(t, page, app.URL+"/account/security"); st != 200 || !strings.Contains(page.URL(), "/login") {
		t.Errorf("before the code, /account/security = %d at %s; want the sign-in page", st, page.URL())
	}
	login(t, page, app.URL, "owner@example.com", pw)
	must(t, page.GetByTestId("login-code").Fill("000000"))
	must(t, page.GetByTestId("login-code-submit").Click())
	expectVisible(t, page.GetByTestId("login-code-error"))
	// The code used for the setup is spent: a recovery code signs in.
	must(t, page.GetByTestId("login-code").Fill(strings.TrimSpace(codes[0])))
	must(t, page.GetByTestId("login-code-submit").Click())
	expectVisible(t, page.GetByTestId("dashboard-title"))
}
