package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// A payer pays an order in the sandbox's hosted checkout, in Chromium; the
// sandbox notifies the app like Ksher would, and the event log shows the
// verified notification that made the order paid. The drift page lists the
// demo's open orders.
func TestE2EPaymentNotificationInEventLog(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	const secret = "e2e events secret key, at least 32 chars"
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEY": secret, "LOG_LEVEL": "info"}
	app := startApp(t, env) // sets env["DATA_DIR"]

	store, err := models.Open(ctx, dsn, nil)
	must(t, err)
	t.Cleanup(func() { store.Close() })
	accounts, err := store.Accounts(ctx)
	must(t, err)
	var v3 *models.MerchantAccount
	for i := range accounts {
		if accounts[i].APIKind == models.APIv3 && accounts[i].Sandbox {
			v3 = &accounts[i]
		}
	}
	if v3 == nil {
		t.Fatalf("no sandbox v3 account among %d", len(accounts))
	}
	const password = "events e2e password"
	_, err = store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "fin@example.com", Name: "Fin", Password: password,
		Role: models.RoleFinance, Mids: []string{"mch35000", "mch35618"}})
	must(t, err)

	// The merchant's own integration creates a payment link whose
	// notifications go to ksherdash's receiver for the account.
	client := e2eMerchantClient(t, app.URL, env["DATA_DIR"])
	id := "E2E-EV-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	link, err := client.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: "mch35000", MerchantOrderID: id, Amount: 25000,
		Channels: []string{"promptpay", "truemoney"}, RedirectURL: app.URL + "/", FailRedirectURL: app.URL + "/",
		ProductName: gateway.String("Coffee beans 1 kg"),
		NotifyURL:   gateway.String(app.URL + "/hooks/ksher/v3/" + strconv.FormatInt(v3.ID, 10))})
	must(t, err)

	// The payer, in the browser.
	payer := newPage(t)
	if _, err := payer.Goto(link.URL); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, payer.GetByTestId("sandbox-checkout"))
	must(t, payer.GetByTestId("channel-truemoney").Check())
	must(t, payer.GetByTestId("pay").Click())
	expectURL(t, payer, `/(login.*)?$`)

	// Finance staff, in another browser, open the event log.
	page := newPage(t)
	login(t, page, app.URL, "fin@example.com", password)
	expectURL(t, page, `/m/(mch35000|all)$`)
	row := page.Locator(`[data-testid="event-row"][data-order="` + id + `"]`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := page.Goto(app.URL + "/m/mch35000/events"); err != nil {
			t.Fatal(err)
		}
		if n, _ := row.Count(); n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	expectVisible(t, row)
	if v, _ := row.GetAttribute("data-valid"); v != "true" {
		t.Errorf("event data-valid = %q, want true", v)
	}
	expectVisible(t, row.GetByTestId("event-valid"))
	expectVisible(t, row.GetByTestId("event-changed"))
	status, err := row.GetByTestId("event-status").TextContent()
	must(t, err)
	if strings.TrimSpace(status) != "Paid" {
		t.Errorf("reported status = %q, want Paid", status)
	}
	when, err := row.Locator("td").First().TextContent()
	must(t, err)
	if !strings.Contains(when, "Asia/Bangkok") {
		t.Errorf("time %q does not name the zone", when)
	}
	e2eShot(t, page, "events")

	// The cache says paid, and a notification told it so.
	hits, err := store.FindOrdersByAnyID(ctx, []string{"mch35000"}, id)
	must(t, err)
	if len(hits) != 1 || hits[0].Status != models.StatusPaid || hits[0].NotifiedAt == nil || hits[0].Amount != 25000 {
		t.Fatalf("cached order = %+v, want paid 250.00, notified", hits)
	}
	// The event links to the order.
	must(t, row.GetByTestId("event-order").Click())
	expectURL(t, page, `/m/mch35000/orders/`+strconv.FormatInt(hits[0].ID, 10)+`$`)

	// The drift page renders with its three lists.
	if _, err := page.Goto(app.URL + "/m/mch35000/drift"); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, page.GetByTestId("drift-title"))
	expectVisible(t, page.GetByTestId("drift-unnotified"))
	expectVisible(t, page.GetByTestId("drift-open"))
	e2eShot(t, page, "drift")

	// The daily sync page: the background worker pulled the vip mid's
	// yesterday and today at start; v3 is explained.
	done := page.Locator(`[data-testid="sync-row"][data-mid="mch35618"][data-status="done"]`)
	deadline = time.Now().Add(20 * time.Second)
	for {
		if _, err := page.Goto(app.URL + "/m/all/sync"); err != nil {
			t.Fatal(err)
		}
		if n, _ := done.Count(); n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n, _ := done.Count(); n != 2 {
		t.Errorf("sync rows done for mch35618 = %d, want yesterday and today", n)
	}
	expectVisible(t, page.GetByTestId("sync-v3-note"))
	expectVisible(t, page.GetByTestId("sync-form"))
	e2eShot(t, page, "sync")
}

// e2eMerchantClient is the demo v3 merchant's own Ksher client, with the
// keys sandbox mode keeps in DATA_DIR, talking to the mounted sandbox.
func e2eMerchantClient(t *testing.T, appURL, dataDir string) *gateway.Client {
	t.Helper()
	dir := filepath.Join(dataDir, "sandbox")
	mk, err := os.ReadFile(filepath.Join(dir, "merchant_key.pem"))
	must(t, err)
	kk, err := os.ReadFile(filepath.Join(dir, "ksher_key.pem"))
	must(t, err)
	key, err := ksign.ParsePrivateKey(mk)
	must(t, err)
	ksher, err := ksign.ParsePrivateKey(kk)
	must(t, err)
	c, err := gateway.New(gateway.Config{Kind: gateway.APIV3, BaseURL: appURL + "/sandbox", KsherPublicKey: &ksher.PublicKey,
		Credentials: map[string]gateway.Credentials{"mch35000": {AppID: "mch35000", PrivateKey: key}}})
	must(t, err)
	return c
}

// e2eShot saves a full-page screenshot to E2E_ARTIFACTS, when set.
func e2eShot(t *testing.T, page playwright.Page, name string) {
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "events_"+name+".png")
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path), FullPage: playwright.Bool(true)}); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
