package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// ordersApp is the real program in sandbox mode with an owner signed in.
type ordersApp struct {
	*runningApp
	dataDir string
	page    playwright.Page
}

const ordersPassword = "orders e2e password"

func startOrdersApp(t *testing.T) *ordersApp {
	t.Helper()
	return startOrdersAppEnv(t, nil)
}

// startOrdersAppEnv is startOrdersApp with more settings in extra.
func startOrdersAppEnv(t *testing.T, extra map[string]string) *ordersApp {
	t.Helper()
	// No daily sync: River's leader runs it once it is elected, a second or
	// more after start (later on a loaded machine), and it would put the
	// vip order that the live-search test makes known to Ksher alone into
	// the cache before the search asks for it.
	env := map[string]string{"DATABASE_URL": pgtest.NewDatabase(t), "LOG_LEVEL": "info", "SYNC_INTERVAL": "off"}
	maps.Copy(env, extra)
	app := startApp(t, env)
	a := &ordersApp{runningApp: app, dataDir: env["DATA_DIR"], page: newPage(t)}
	login(t, a.page, app.URL, "owner@example.com", app.Password)
	expectURL(t, a.page, `/account/password$`)
	must(t, a.page.GetByTestId("password-current").Fill(app.Password))
	must(t, a.page.GetByTestId("password-new").Fill(ordersPassword))
	must(t, a.page.GetByTestId("password-confirm").Fill(ordersPassword))
	must(t, a.page.GetByTestId("password-submit").Click())
	expectURL(t, a.page, `/m/mch35000$`)
	return a
}

// sandboxOrder is the part of the sandbox's /_sandbox/orders we use.
type sandboxOrder struct {
	API, Kind, Merchant, State string
	MchOrderNo                 string `json:"mch_order_no"`
	KsherOrderNo               string `json:"ksher_order_no"`
	ChannelOrderNo             string `json:"channel_order_no"`
	Refunds                    []struct {
		MchRefundNo string `json:"mch_refund_no"`
	}
}

func (a *ordersApp) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(a.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// queries counts the order queries the sandbox has received, both APIs.
func (a *ordersApp) queries(t *testing.T) int {
	t.Helper()
	var calls map[string]int
	a.getJSON(t, "/sandbox/_sandbox/calls", &calls)
	n := 0
	for op, c := range calls {
		if op == "order_query" || op == "gateway_order_query" || strings.HasSuffix(op, ".query") {
			n += c
		}
	}
	return n
}

// refundedOrder picks a seeded, paid and refunded order of mid.
func (a *ordersApp) refundedOrder(t *testing.T, mid string) sandboxOrder {
	t.Helper()
	var orders []sandboxOrder
	a.getJSON(t, "/sandbox/_sandbox/orders", &orders)
	for _, o := range orders {
		if o.Merchant == mid && o.State == "paid" && len(o.Refunds) > 0 && o.KsherOrderNo != "" && o.ChannelOrderNo != "" {
			return o
		}
	}
	t.Fatalf("the sandbox has no refunded order of %s", mid)
	return sandboxOrder{}
}

// searchFor uses the header's search box, as a person would.
func (a *ordersApp) searchFor(t *testing.T, q string) {
	t.Helper()
	box := a.page.GetByTestId("search-input")
	must(t, box.Fill(q))
	must(t, box.Press("Enter"))
	expectVisible(t, a.page.GetByTestId("search-title"))
}

func (a *ordersApp) expectHit(t *testing.T, mch, source string) {
	t.Helper()
	hit := a.page.Locator(fmt.Sprintf(`[data-testid="search-hit"][data-mch=%q]`, mch))
	expectVisible(t, hit)
	src, err := hit.GetByTestId("search-source").First().GetAttribute("data-source")
	must(t, err)
	if src != source {
		t.Errorf("search for %s: answer from %q, want %q", mch, src, source)
	}
}

// gatewayClient talks to the mounted sandbox with the demo accounts'
// credentials (kept in DATA_DIR), as Ksher's own SDKs would: orders made
// this way are not in ksherdash's cache.
func (a *ordersApp) gatewayClient(t *testing.T, kind gateway.APIKind) *gateway.Client {
	t.Helper()
	dir := filepath.Join(a.dataDir, "sandbox")
	cfg := gateway.Config{Kind: kind, BaseURL: a.URL + "/sandbox"}
	switch kind {
	case gateway.APIV3:
		mk, err := os.ReadFile(filepath.Join(dir, "merchant_key.pem"))
		must(t, err)
		kk, err := os.ReadFile(filepath.Join(dir, "ksher_key.pem"))
		must(t, err)
		key, err := ksign.ParsePrivateKey(mk)
		must(t, err)
		ksher, err := ksign.ParsePrivateKey(kk)
		must(t, err)
		cfg.Credentials = map[string]gateway.Credentials{"mch35000": {AppID: "mch35000", PrivateKey: key}}
		cfg.KsherPublicKey = &ksher.PublicKey
	case gateway.APIVIP:
		tok, err := os.ReadFile(filepath.Join(dir, "vip_token"))
		must(t, err)
		cfg.Token, cfg.Mids = strings.TrimSpace(string(tok)), []string{"mch35618"}
	}
	c, err := gateway.New(cfg)
	must(t, err)
	return c
}

// newUncachedPaidOrder creates a counter QR order straight in the sandbox
// and has the payer pay it. The vip webhook (which would put the order in
// the cache at once) is off meanwhile; v3 orders made here name no
// notification URL.
func (a *ordersApp) newUncachedPaidOrder(t *testing.T, kind gateway.APIKind, mid, id string) {
	t.Helper()
	var cfg struct {
		WebhookURL string `json:"webhook_url"`
	}
	a.getJSON(t, "/sandbox/_sandbox/config", &cfg)
	setHook := func(u string) {
		resp, err := http.PostForm(a.URL+"/sandbox/_sandbox/config", url.Values{"webhook_url": {u}})
		must(t, err)
		resp.Body.Close()
	}
	setHook("")
	defer setHook(cfg.WebhookURL)
	qr, err := a.gatewayClient(t, kind).Counter.QR(context.Background(), &gateway.QRParams{Mid: mid, MerchantOrderID: id, Amount: 12345, Channel: "promptpay"})
	must(t, err)
	resp, err := http.PostForm(a.URL+"/sandbox/_sandbox/pay", url.Values{"order": {qr.MerchantOrderID}, "mid": {mid}})
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay %s = %d", id, resp.StatusCode)
	}
}

func (a *ordersApp) goto_(t *testing.T, path string) {
	t.Helper()
	if _, err := a.page.Goto(a.URL + path); err != nil {
		t.Fatal(err)
	}
}

// Acceptance of search: on both Ksher APIs, each of an order's numbers
// (merchant, Ksher, channel, refund) finds it from the cache; an order only
// Ksher knows is found live once, then from the cache with no gateway call.
func TestE2EOrdersSearch(t *testing.T) {
	a := startOrdersApp(t)
	for _, tc := range []struct{ name, mid string }{{"v3", "mch35000"}, {"vip", "mch35618"}} {
		t.Run(tc.name+" cached", func(t *testing.T) {
			o := a.refundedOrder(t, tc.mid)
			a.goto_(t, "/m/"+tc.mid+"/orders")
			before := a.queries(t)
			for _, q := range []string{o.MchOrderNo, o.KsherOrderNo, o.ChannelOrderNo, o.Refunds[0].MchRefundNo} {
				a.searchFor(t, q)
				a.expectHit(t, o.MchOrderNo, "cache")
			}
			if n := a.queries(t) - before; n != 0 {
				t.Errorf("cached searches made %d gateway calls", n)
			}
		})
	}
	for _, tc := range []struct {
		name, mid, id string
		kind          gateway.APIKind
	}{{"v3", "mch35000", "E2E-LIVE-V3-1", gateway.APIV3}, {"vip", "mch35618", "e2e_live_vip_1", gateway.APIVIP}} {
		t.Run(tc.name+" live", func(t *testing.T) {
			a.newUncachedPaidOrder(t, tc.kind, tc.mid, tc.id)
			a.goto_(t, "/m/"+tc.mid+"/orders")
			before := a.queries(t)
			a.searchFor(t, tc.id)
			a.expectHit(t, tc.id, "live")
			shootOrders(t, a.page, "search-live-"+tc.name)
			if n := a.queries(t) - before; n != 1 {
				t.Errorf("the live search made %d gateway calls, want 1", n)
			}
			before = a.queries(t)
			a.searchFor(t, tc.id)
			a.expectHit(t, tc.id, "cache")
			if n := a.queries(t) - before; n != 0 {
				t.Errorf("the second search of %s made %d gateway calls, want 0", tc.id, n)
			}
		})
	}
	t.Run("nothing found", func(t *testing.T) {
		a.goto_(t, "/m/mch35000/orders")
		a.searchFor(t, "NO-SUCH-ORDER-E2E")
		expectVisible(t, a.page.GetByTestId("search-none"))
		shootOrders(t, a.page, "search-none")
		expectVisible(t, a.page.GetByTestId("tried-cache"))
		if n, _ := a.page.GetByTestId("tried-live").Count(); n != 3 {
			t.Errorf("tried on %d mids, want 3", n)
		}
	})
	t.Run("slash focuses the search box", func(t *testing.T) {
		a.goto_(t, "/m/mch35000/orders")
		must(t, a.page.Locator("h1").Click())
		must(t, a.page.Keyboard().Press("/"))
		if err := playwright.NewPlaywrightAssertions(3000).Locator(a.page.GetByTestId("search-input")).ToBeFocused(); err != nil {
			t.Errorf("/ did not focus the search box: %v", err)
		}
	})
}

// Acceptance of refresh: a burst of refreshes of one order never sends
// two queries within 10 s, and one is sent once 10 s have passed.
func TestE2EOrdersRefreshBurst(t *testing.T) {
	a := startOrdersApp(t)
	a.newUncachedPaidOrder(t, gateway.APIV3, "mch35000", "E2E-BURST-1")
	a.goto_(t, "/m/mch35000/orders")
	a.searchFor(t, "E2E-BURST-1") // Ksher is asked now
	askedAt := time.Now()
	must(t, a.page.GetByTestId("search-hit-link").First().Click())
	expectVisible(t, a.page.GetByTestId("order-panel"))
	detail := a.page.URL()
	headers, err := a.page.Locator("body").GetAttribute("hx-headers")
	must(t, err)
	var csrf map[string]string
	must(t, json.Unmarshal([]byte(headers), &csrf))
	burst := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := a.page.Request().Post(detail+"/refresh", playwright.APIRequestContextPostOptions{
					Headers: map[string]string{"X-CSRF-Token": csrf["X-CSRF-Token"], "HX-Request": "true"}})
				if err != nil {
					t.Errorf("refresh: %v", err)
					return
				}
				if resp.Status() != http.StatusOK {
					t.Errorf("refresh = %d", resp.Status())
				}
			}()
		}
		wg.Wait()
	}
	before := a.queries(t)
	burst(10)
	if n := a.queries(t) - before; n != 0 {
		t.Errorf("refreshes within 10 s of the search made %d queries, want 0", n)
	}
	// The button says when Ksher may be asked again.
	must(t, a.page.GetByTestId("refresh").Click())
	expectVisible(t, a.page.GetByTestId("refresh-notice"))
	notice, _ := a.page.GetByTestId("refresh-notice").TextContent()
	if !strings.Contains(notice, "Asia/Bangkok") {
		t.Errorf("notice %q does not say when to ask again (with the zone)", notice)
	}
	time.Sleep(time.Until(askedAt.Add(10500 * time.Millisecond)))
	before = a.queries(t)
	burst(10)
	if n := a.queries(t) - before; n != 1 {
		t.Errorf("a burst of 10 refreshes after 10 s made %d queries, want 1", n)
	}
	a.goto_(t, strings.TrimPrefix(detail, a.URL))
	if n, _ := a.page.Locator(`[data-testid="timeline-row"][data-kind="refresh"]`).Count(); n != 1 {
		t.Errorf("timeline shows %d refresh calls, want 1", n)
	}
	shootOrders(t, a.page, "order-detail")
}

// Acceptance of the list: filters, sort and page survive reload and
// back/forward in Chromium (the state is in the URL; htmx pushes it).
func TestE2EOrdersListState(t *testing.T) {
	a := startOrdersApp(t)
	a.goto_(t, "/m/all/orders")
	expectVisible(t, a.page.GetByTestId("orders-table"))
	rows := a.page.GetByTestId("order-row")
	if n, _ := rows.Count(); n != 25 {
		t.Fatalf("first page has %d rows, want 25", n)
	}
	if n, _ := a.page.GetByTestId("order-mid").Count(); n != 25 {
		t.Errorf("no mid column on /m/all")
	}
	// Filter: paid only, oldest first, 50 per page (each change swaps the
	// results and pushes the URL).
	must(t, a.page.GetByTestId("filter-status").Locator("summary").Click())
	must(t, a.page.GetByTestId("filter-status-paid").Check())
	expectURL(t, a.page, `status=paid`)
	// The summary follows (an out-of-band swap); closing the dropdown frees
	// the page (Pico's open dropdown catches clicks outside it).
	if err := playwright.NewPlaywrightAssertions(5000).Locator(a.page.Locator("#status-summary")).ToHaveText("Paid"); err != nil {
		t.Errorf("status summary: %v", err)
	}
	must(t, a.page.Locator("#status-summary").Click())
	_, err := a.page.GetByTestId("filter-sort").SelectOption(playwright.SelectOptionValues{Values: &[]string{"oldest"}})
	must(t, err)
	expectURL(t, a.page, `sort=oldest`)
	_, err = a.page.GetByTestId("filter-per").SelectOption(playwright.SelectOptionValues{Values: &[]string{"50"}})
	must(t, err)
	expectURL(t, a.page, `per=50`)
	expectRows(t, a.page, 50)
	page1First := firstMch(t, a.page)
	page1URL := a.page.URL()
	must(t, a.page.GetByTestId("page-next").Click())
	expectURL(t, a.page, `after=`)
	expectRowsNot(t, a.page, page1First)
	page2First := firstMch(t, a.page)
	page2URL := a.page.URL()
	// The header's mid switcher followed the pushed URLs: switching mid
	// keeps this filter and page.
	if href, _ := a.page.GetByTestId("switch-mch35618").GetAttribute("href"); !strings.Contains(href, "status=paid") ||
		!strings.Contains(href, "sort=oldest") || !strings.HasPrefix(href, "/m/mch35618/orders?") {
		t.Errorf("after filtering with htmx, the switcher opens %q, which drops the filter", href)
	}
	for _, s := range allText(t, a.page.Locator(`[data-testid="order-row"] [data-testid="status"]`)) {
		if s != "paid" {
			t.Fatalf("a %s order under status=paid", s)
		}
	}
	// Reload keeps everything, the form included.
	_, err = a.page.Reload()
	must(t, err)
	if a.page.URL() != page2URL || firstMch(t, a.page) != page2First {
		t.Errorf("reload: url %s first %s, want %s %s", a.page.URL(), firstMch(t, a.page), page2URL, page2First)
	}
	expectRows(t, a.page, 50)
	expectFormState(t, a.page)
	// Back and forward.
	_, err = a.page.GoBack()
	must(t, err)
	expectURL(t, a.page, regexp.QuoteMeta(strings.TrimPrefix(page1URL, a.URL))+`$`)
	expectFirst(t, a.page, page1First)
	expectFormState(t, a.page)
	_, err = a.page.GoForward()
	must(t, err)
	expectURL(t, a.page, `after=`)
	expectFirst(t, a.page, page2First)
	expectFormState(t, a.page)
	// Times are in the account's zone, named.
	head, _ := a.page.Locator("thead").TextContent()
	if !strings.Contains(head, "Asia/Bangkok") {
		t.Errorf("table header %q does not name the zone", head)
	}
	// Save the view, open the list afresh, apply it.
	must(t, a.page.GetByTestId("saved-view-name").Fill("Paid, oldest first"))
	must(t, a.page.GetByTestId("saved-view-save").Click())
	expectVisible(t, a.page.GetByTestId("saved-view-link"))
	a.goto_(t, "/m/mch35618/orders")
	must(t, a.page.GetByTestId("saved-view-link").Click())
	expectURL(t, a.page, `/m/mch35618/orders\?.*sort=oldest`)
	expectFormState(t, a.page)
	a.goto_(t, "/m/all/orders?status=paid&sort=oldest&per=50")
	shootOrders(t, a.page, "order-list")
}

func firstMch(t *testing.T, page playwright.Page) string {
	t.Helper()
	v, err := page.GetByTestId("order-row").First().GetAttribute("data-mch")
	must(t, err)
	return v
}

func expectFirst(t *testing.T, page playwright.Page, mch string) {
	t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(page.GetByTestId("order-row").First()).ToHaveAttribute("data-mch", mch); err != nil {
		t.Errorf("first row is not %s: %v", mch, err)
	}
}

func expectRowsNot(t *testing.T, page playwright.Page, mch string) {
	t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(page.GetByTestId("order-row").First()).Not().ToHaveAttribute("data-mch", mch); err != nil {
		t.Errorf("the page did not change: %v", err)
	}
}

func expectRows(t *testing.T, page playwright.Page, n int) {
	t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(page.GetByTestId("order-row")).ToHaveCount(n); err != nil {
		t.Errorf("rows: %v", err)
	}
}

func expectFormState(t *testing.T, page playwright.Page) {
	t.Helper()
	as := playwright.NewPlaywrightAssertions(5000)
	if err := as.Locator(page.GetByTestId("filter-sort")).ToHaveValue("oldest"); err != nil {
		t.Errorf("sort: %v", err)
	}
	if err := as.Locator(page.GetByTestId("filter-per")).ToHaveValue("50"); err != nil {
		t.Errorf("per page: %v", err)
	}
	if err := as.Locator(page.GetByTestId("filter-status-paid")).ToBeChecked(); err != nil {
		t.Errorf("status paid: %v", err)
	}
}

func allText(t *testing.T, l playwright.Locator) []string {
	t.Helper()
	n, err := l.Count()
	must(t, err)
	var out []string
	for i := range n {
		v, err := l.Nth(i).GetAttribute("data-status")
		must(t, err)
		out = append(out, v)
	}
	return out
}

// shootOrders saves a full-page screenshot to E2E_ARTIFACTS when set.
func shootOrders(t *testing.T, page playwright.Page, name string) {
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	for suffix, full := range map[string]bool{"": true, "-top": false} {
		path := filepath.Join(dir, name+suffix+".png")
		if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path), FullPage: playwright.Bool(full)}); err != nil {
			t.Logf("screenshot %s: %v", name, err)
		}
	}
}

// Sandbox mode fills the cache from the sandbox's history once: a second
// start adds nothing and changes nothing, and an order the sandbox gained
// meanwhile is added.
func TestSeedOrderCacheIsIdempotent(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	store, err := models.Open(ctx, pgtest.NewDatabase(t), log)
	must(t, err)
	t.Cleanup(func() { store.Close() })
	_, err = store.Migrate(ctx, migrations.FS)
	must(t, err)
	store.SetSecretKey([]byte(strings.Repeat("k", 32)))
	for _, in := range []models.AccountInput{
		{Name: "V3", APIKind: models.APIv3, BaseURL: "http://127.0.0.1:1", Mids: []models.Mid{{Mid: "mch35000"}},
			Credentials: &models.Credentials{PrivateKeys: map[string]string{"mch35000": "unused"}}},
		{Name: "VIP", APIKind: models.APIVIP, BaseURL: "http://127.0.0.1:1", Mids: []models.Mid{{Mid: "mch35618"}},
			Credentials: &models.Credentials{Token: "unused"}},
	} {
		_, err := store.SaveAccount(ctx, models.SandboxSetup(), 0, in)
		must(t, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	sb, err := sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{"mch35000": &key.PublicKey}, KsherKey: key,
		Token: "tok", Mids: []string{"mch35618"}, Logger: log})
	must(t, err)
	t.Cleanup(func() { sb.Close() })
	_, err = sb.SeedHistory(sandbox.SeedOptions{Seed: 1, Orders: 120, Days: 30})
	must(t, err)
	count := func() int {
		n := 0
		for _, mid := range []string{"mch35000", "mch35618"} {
			nos, err := store.CachedOrderNos(ctx, mid)
			must(t, err)
			n += len(nos)
		}
		return n
	}
	start := time.Now()
	seedOrderCache(ctx, store, sb, log)
	first := count()
	if first != len(sb.Orders()) {
		t.Fatalf("cached %d orders, the sandbox has %d", first, len(sb.Orders()))
	}
	t.Logf("seeded %d orders in %s", first, time.Since(start))
	// Every refunded sandbox order is findable by its refund number, with
	// its refunded total.
	refunded := 0
	for _, o := range sb.Orders() {
		if len(o.Refunds) == 0 || o.Refunds[0].Reverse {
			continue
		}
		refunded++
		hits, err := store.FindOrdersByAnyID(ctx, []string{o.Merchant}, o.Refunds[0].MchRefundNo)
		if err != nil || len(hits) != 1 || hits[0].MchOrderNo != o.MchOrderNo || hits[0].Refunded == 0 {
			t.Errorf("refund %s of %s: hits %+v, %v", o.Refunds[0].MchRefundNo, o.MchOrderNo, hits, err)
		}
	}
	if refunded == 0 {
		t.Errorf("the seeded history has no refund to check")
	}
	// A start with everything cached writes nothing: it says so by not logging a seeding.
	var second bytes.Buffer
	seedOrderCache(ctx, store, sb, slog.New(slog.NewTextHandler(&second, nil)))
	if again := count(); again != first {
		t.Errorf("second start: %d orders, want %d", again, first)
	}
	if strings.Contains(second.String(), "Order cache seeded") {
		t.Errorf("a start with everything cached wrote orders again: %s", second.String())
	}
	_, err = sb.SeedHistory(sandbox.SeedOptions{Seed: 2, Orders: 5, Days: 3})
	must(t, err)
	seedOrderCache(ctx, store, sb, log)
	if n := count(); n != len(sb.Orders()) {
		t.Errorf("after the sandbox grew: %d cached, %d in the sandbox", n, len(sb.Orders()))
	}
}
