package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// mustAccountsOwner adds an owner with a known password to the running
// program's database (the first owner's one-time password would force a
// password change first) and signs them in.
func mustAccountsOwner(t *testing.T, page playwright.Page, app *runningApp, dsn string) {
	t.Helper()
	store, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const pw = "accounts owner password"
	if _, err := store.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: "accounts-owner@example.com", Password: pw, Role: models.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	login(t, page, app.URL, "accounts-owner@example.com", pw)
	expectVisible(t, page.GetByTestId("nav-accounts"))
}

// The owner creates a merchant account in the browser: a refused form
// keeps nothing secret, the saved one shows its fingerprint and never the
// token or key, in the page source or in the log.
func TestE2EOwnerCreatesAccount(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dsn, "SANDBOX": "off"})
	page := newPage(t)
	mustAccountsOwner(t, page, app, dsn)
	const token = "tok-E2E-NEVER-SHOWN-5b9d0c"
	keyPEM, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ksher", "keys", "mch_priv_pkcs1.pem"))
	must(t, err)
	keyLine := strings.Split(string(keyPEM), "\n")[1]

	must(t, page.GetByTestId("nav-accounts").Click())
	expectURL(t, page, `/accounts$`)
	must(t, page.GetByTestId("account-new").Click())
	expectURL(t, page, `/accounts/new$`)

	// Refused (no mid): the problem is shown, the secrets are not sent back.
	must(t, page.GetByTestId("account-name").Fill("Browser Shop"))
	must(t, page.GetByTestId("account-kind-vip").Check())
	must(t, page.GetByTestId("account-base-url").Fill("https://browser.vip.ksher.net"))
	must(t, page.GetByTestId("account-private-key").Fill(string(keyPEM)))
	must(t, page.GetByTestId("account-vip-summary").Click()) // the vip section starts folded on a new form
	must(t, page.GetByTestId("account-token").Fill(token))
	must(t, page.GetByTestId("account-mids-input").Fill(""))
	// Skip the browser's own check of the required field: the server's is tested.
	_, err = page.GetByTestId("account-mids-input").Evaluate("el => el.removeAttribute('required')", nil)
	must(t, err)
	must(t, page.GetByTestId("account-save").Click())
	expectVisible(t, page.GetByTestId("error-mids"))
	html, err := page.Content()
	must(t, err)
	if strings.Contains(html, token) || strings.Contains(html, keyLine) {
		t.Fatal("the refused form sends a secret back")
	}
	if v, _ := page.GetByTestId("account-token").InputValue(); v != "" {
		t.Errorf("token field holds %q after a refusal", v)
	}
	if v, _ := page.GetByTestId("account-name").InputValue(); v != "Browser Shop" {
		t.Errorf("name field = %q, want what was typed", v)
	}

	// Saved: the page shows the fingerprint, not the secret.
	must(t, page.GetByTestId("account-mids-input").Fill("mch91001 Browser one\nmch91002 Browser two"))
	must(t, page.GetByTestId("account-token").Fill(token))
	must(t, page.GetByTestId("account-save").Click())
	expectURL(t, page, `/accounts/\d+\?saved=1$`)
	expectVisible(t, page.GetByTestId("flash-info"))
	fp, err := page.GetByTestId("fingerprint").TextContent()
	must(t, err)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{12}$`).MatchString(fp) {
		t.Errorf("fingerprint = %q", fp)
	}
	expectVisible(t, page.GetByTestId("token-stored"))
	html, err = page.Content()
	must(t, err)
	if strings.Contains(html, token) {
		t.Error("the account page shows the token")
	}

	// The list shows the account with the same fingerprint and its mids.
	must(t, page.GetByTestId("nav-accounts").Click())
	expectURL(t, page, `/accounts$`)
	row := page.Locator(`tr[data-testid^="account-row-"]`, playwright.PageLocatorOptions{HasText: "Browser Shop"})
	expectVisible(t, row)
	listFP, err := row.GetByTestId("fingerprint").TextContent()
	must(t, err)
	mids, err := row.GetByTestId("account-mids").TextContent()
	must(t, err)
	if listFP != fp || !strings.Contains(mids, "mch91002") {
		t.Errorf("list row: fingerprint %q mids %q, want %q and both mids", listFP, mids, fp)
	}
	html, err = page.Content()
	must(t, err)
	if strings.Contains(html, token) {
		t.Error("the accounts list shows the token")
	}

	// The audit log has the creation; filtering swaps the table in place
	// (htmx) and puts the filter in the URL.
	must(t, page.GetByTestId("nav-audit").Click())
	expectURL(t, page, `/audit$`)
	_, err = page.GetByTestId("audit-action").SelectOption(playwright.SelectOptionValues{Values: &[]string{"credential_change"}})
	must(t, err)
	_, err = page.Evaluate("() => { window.ksdNoReload = true }")
	must(t, err)
	must(t, page.GetByTestId("audit-submit").Click())
	expectURL(t, page, `/audit\?.*action=credential_change`)
	if same, err := page.Evaluate("() => window.ksdNoReload === true"); err != nil || same != true {
		t.Errorf("filtering reloaded the page (%v, %v): htmx did not swap the table", same, err)
	}
	rows := page.Locator(`[data-testid="audit-row"]`)
	expectVisible(t, rows.First())
	if n, _ := rows.Count(); n != 1 {
		t.Errorf("credential_change rows = %d, want 1", n)
	}
	details, err := rows.First().TextContent()
	must(t, err)
	if !strings.Contains(details, fp) || !strings.Contains(details, "Browser Shop") {
		t.Errorf("the audit row lacks the account or its fingerprint: %q", details)
	}
	html, err = page.Content()
	must(t, err)
	if strings.Contains(html, token) {
		t.Error("the audit log shows the token")
	}
	for _, out := range []string{app.Stdout.String(), app.Stderr.String()} {
		if strings.Contains(out, token) || strings.Contains(out, keyLine) {
			t.Error("a secret reached the program's output or log")
		}
	}
}
