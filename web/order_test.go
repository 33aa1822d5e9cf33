package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// orderEnv is the app over a store with two accounts talking to a real
// gateway/sandbox over HTTP: v3 mid mch46100 and vip mid mch46200.
type orderEnv struct {
	*testEnv
	sb      *sandbox.Sandbox
	v3, vip *models.MerchantAccount
	owner   *client
	mkey    *rsa.PrivateKey
	kkey    *rsa.PrivateKey
	ownerID int64
	token   string
	url     string
}

func newOrderEnv(t *testing.T) *orderEnv {
	t.Helper()
	e := &orderEnv{testEnv: newTestEnv(t), token: "vip-test-token-0123456789"}
	var err error
	if e.mkey, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	if e.kkey, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	kkey := e.kkey
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.sb, err = sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{"mch46100": &e.mkey.PublicKey}, KsherKey: kkey,
		Token: e.token, Mids: []string{"mch46200"}, PublicURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sb.Close() })
	h = e.sb
	pemOf := func(b []byte, typ string) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	ctx := context.Background()
	e.v3, err = e.store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "V3", APIKind: models.APIv3, BaseURL: srv.URL, GatewayBaseURL: srv.URL,
		Sandbox: true, Mids: []models.Mid{{Mid: "mch46100"}}, Credentials: &models.Credentials{
			PrivateKeys:    map[string]string{"mch46100": pemOf(x509.MarshalPKCS1PrivateKey(e.mkey), "RSA PRIVATE KEY")},
			KsherPublicKey: pemOf(x509.MarshalPKCS1PublicKey(&kkey.PublicKey), "RSA PUBLIC KEY")}})
	if err != nil {
		t.Fatal(err)
	}
	e.vip, err = e.store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "VIP", APIKind: models.APIVIP, BaseURL: srv.URL,
		Sandbox: true, Mids: []models.Mid{{Mid: "mch46200"}}, Credentials: &models.Credentials{Token: e.token}})
	if err != nil {
		t.Fatal(err)
	}
	// The demo account of newTestEnv points at a host that does not exist;
	// make it fail at once (connection refused) instead of after DNS timeouts.
	demo, err := e.store.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range demo {
		if a.Name == "Demo" {
			in := models.AccountInput{Name: a.Name, APIKind: a.APIKind, BaseURL: "http://127.0.0.1:1", Sandbox: true, Mids: a.Mids}
			if _, err := e.store.SaveAccount(ctx, models.SandboxSetup(), a.ID, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	owner, err := e.store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "owner@example.com", Password: testPassword, Role: models.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	e.ownerID = owner.ID
	e.owner = newClient(t, e.app)
	if resp := e.owner.login("owner@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner login = %d", resp.StatusCode)
	}
	return e
}

// calls sums the sandbox's call counters of the order queries.
func (e *orderEnv) calls() int {
	n := e.sb.Calls("order_query") + e.sb.Calls("gateway_order_query")
	for _, k := range []string{"redirect", "cscanb", "bscanc", "app", "miniapp"} {
		n += e.sb.Calls("vip." + k + ".query")
	}
	return n
}

// sandboxOrder returns a seeded sandbox order of mid that is paid.
func (e *orderEnv) paidSandboxOrder(t *testing.T, mid string, skip int) sandbox.Order {
	t.Helper()
	if _, err := e.sb.SeedHistory(sandbox.SeedOptions{Seed: 3, Orders: 40, Days: 5}); err != nil {
		t.Fatal(err)
	}
	for _, o := range e.sb.Orders() {
		if o.Merchant == mid && o.State == "paid" && len(o.Refunds) == 0 && o.ChannelOrderNo != "" && o.Kind != "gateway_pay" {
			if skip == 0 {
				return o
			}
			skip--
		}
	}
	t.Fatalf("no paid order of %s in the sandbox", mid)
	return sandbox.Order{}
}

var sourceRe = regexp.MustCompile(`data-testid="search-source" data-source="(\w+)"`)

func (e *orderEnv) search(t *testing.T, mid, q string) (string, string) {
	t.Helper()
	resp, body := e.owner.get("/m/" + mid + "/search?q=" + url.QueryEscape(q))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %s = %d\n%s", q, resp.StatusCode, body)
	}
	m := sourceRe.FindStringSubmatch(body)
	if m == nil {
		return "", body
	}
	return m[1], body
}

// A search missing the cache asks Ksher (the right API and question), says
// the answer is live, and caches it: the same search again, and a search
// by another of the order's numbers, asks nobody.
func TestSearchLiveThenFromCache(t *testing.T) {
	e := newOrderEnv(t)
	v3 := e.paidSandboxOrder(t, "mch46100", 0)
	vip := e.paidSandboxOrder(t, "mch46200", 0)
	tests := []struct {
		name, mid, first, second string
		wantCalls                int
	}{
		// A Ksher number is asked by ksher_order_no only: one call.
		{"v3 by Ksher number", "mch46100", v3.KsherOrderNo, v3.ChannelOrderNo, 1},
		// vip knows merchant numbers only; redirect is asked first and the
		// sandbox answers for any family. The current mid is asked first.
		{"vip by merchant number", "mch46200", vip.MchOrderNo, vip.KsherOrderNo, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.calls()
			src, body := e.search(t, tt.mid, tt.first)
			if src != "live" || !strings.Contains(body, `data-mch="`) {
				t.Fatalf("first search: source %q\n%s", src, body)
			}
			if got := e.calls() - before; got != tt.wantCalls {
				t.Errorf("first search made %d gateway calls, want %d", got, tt.wantCalls)
			}
			before = e.calls()
			for _, q := range []string{tt.first, tt.second} {
				if src, body := e.search(t, tt.mid, q); src != "cache" || !strings.Contains(body, "cached ") {
					t.Errorf("search %s again: source %q", q, src)
				}
			}
			if got := e.calls() - before; got != 0 {
				t.Errorf("searches answered from the cache made %d gateway calls", got)
			}
		})
	}
	// The live answer is on the order's timeline with its latency.
	hits, err := e.store.FindOrdersByAnyID(context.Background(), []string{"mch46100"}, v3.KsherOrderNo)
	if err != nil || len(hits) != 1 {
		t.Fatalf("cached hits = %d, %v", len(hits), err)
	}
	evs, _ := e.store.OrderEvents(context.Background(), hits[0].ID)
	if len(evs) == 0 || evs[0].Kind != "lookup" || evs[0].LatencyMS == nil || !strings.Contains(evs[0].Summary, "ksher_order_no") {
		t.Errorf("timeline = %+v, want the lookup with its latency", evs)
	}
	if hits[0].Status != models.StatusPaid || hits[0].Amount != v3.Amount || hits[0].MchOrderNo != v3.MchOrderNo {
		t.Errorf("cached order = %+v, want the sandbox's %+v", hits[0].Order, v3)
	}
}

// Nothing found: the page says so and lists what was tried on each mid; a
// second search within 10 s asks nobody and says Ksher was just asked.
func TestSearchNothingFoundSaysWhatWasTried(t *testing.T) {
	e := newOrderEnv(t)
	before := e.calls()
	_, body := e.search(t, "mch46100", "NO-SUCH-ORDER-1")
	for _, want := range []string{`data-testid="search-none"`, `data-testid="tried-cache"`, `data-mid="mch46100" data-called="true"`,
		`data-mid="mch46200" data-called="true"`, "merchant order no., payment link no., channel order no.", "hosted-page order"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// v3: mch_order_no, payment link, channel_order_no; vip: five families.
	if got := e.calls() - before; got != 3+5 {
		t.Errorf("gateway calls = %d, want 8", got)
	}
	before = e.calls()
	_, body = e.search(t, "mch46100", "NO-SUCH-ORDER-1")
	if got := e.calls() - before; got != 0 {
		t.Errorf("the same search within 10 s made %d calls", got)
	}
	if !strings.Contains(body, `data-called="false"`) || !strings.Contains(body, "was asked about this number") {
		t.Errorf("second search does not say Ksher was asked moments ago")
	}
	// The current mid is searched first.
	if i, j := strings.Index(body, `data-mid="mch46100"`), strings.Index(body, `data-mid="mch46200"`); i > j {
		t.Errorf("mch46100 (current) listed after mch46200")
	}
}

// A person sees only orders of mids where they may search.
func TestSearchStaysInThePersonsMids(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100", MchOrderNo: "SECRET-1",
		Amount: 100, Status: models.StatusPaid, Source: "seed"}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.app)
	c.login("fin@example.com", testPassword) // finance on mch35000 only (an unreachable account)
	resp, body := c.get("/m/mch35000/search?q=SECRET-1")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `data-testid="search-hit"`) || !strings.Contains(body, `data-testid="search-none"`) {
		t.Errorf("search of another person's order = %d, found it or did not say so", resp.StatusCode)
	}
	if !strings.Contains(body, `data-testid="tried-error"`) {
		t.Errorf("an unreachable gateway is not reported")
	}
	if resp, _ := c.get("/m/mch46100/search?q=SECRET-1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("search on a foreign mid = %d, want 404", resp.StatusCode)
	}
}

// A non-final order is refreshed when viewed, once: a burst of refreshes
// within 10 s sends nothing more, and each call is on the timeline.
func TestOrderRefreshKeepsKshersTenSeconds(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	gw := e.gatewayV3(t)
	qr, err := gw.Counter.QR(ctx, &gateway.QRParams{Mid: "mch46100", MerchantOrderID: "QR-REFRESH-1", Amount: 15050, Channel: "promptpay"})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100", Kind: models.OrderKindKsherPay,
		MchOrderNo: qr.MerchantOrderID, KsherOrderNo: qr.KsherOrderID, Amount: 15050, Status: models.StatusPending, Source: "link"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay("QR-REFRESH-1", ""); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/m/mch46100/orders/%d", o.ID)
	before := e.sb.Calls("order_query")
	resp, body := e.owner.get(path)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-status="paid"`) || !strings.Contains(body, `data-testid="next-ask"`) {
		t.Fatalf("detail of a pending order = %d, not refreshed to paid:\n%s", resp.StatusCode, body)
	}
	if got := e.sb.Calls("order_query") - before; got != 1 {
		t.Errorf("viewing a pending order made %d order_query calls, want 1", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		c := e.owner.clone() // do writes the client's cookies: one each
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, path+"/refresh", nil)
			req.Header.Set("X-CSRF-Token", c.csrf)
			req.Header.Set("HX-Request", "true")
			resp, body := c.do(req)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="refresh-notice"`) {
				t.Errorf("refresh = %d\n%s", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	if got := e.sb.Calls("order_query") - before; got != 1 {
		t.Errorf("a burst of refreshes within 10 s made %d order_query calls in all, want 1", got)
	}
	evs, _ := e.store.OrderEvents(ctx, o.ID)
	var calls int
	for _, ev := range evs {
		if ev.Kind == "refresh" {
			calls++
			if ev.LatencyMS == nil || !strings.Contains(ev.Summary, "order_query: paid") {
				t.Errorf("timeline entry %+v lacks latency or result", ev)
			}
		}
	}
	if calls != 1 {
		t.Errorf("timeline has %d gateway calls, want 1", calls)
	}
	// A plain form (no JavaScript: only the form's own fields, no htmx
	// header) is accepted and sent back to the detail page.
	_, body = e.owner.get(path)
	form := regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*data-testid="refresh-form">(.*?)</form>`).FindStringSubmatch(body)
	if form == nil {
		t.Fatalf("no refresh form on the detail page")
	}
	fields := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(form[2], -1) {
		fields.Set(m[1], m[2])
	}
	resp, _ = e.owner.post(form[1], fields)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?refreshed=too_soon" {
		t.Errorf("plain refresh = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The detail page it lands on says what the refresh did.
	if _, body := e.owner.get(resp.Header.Get("Location")); !strings.Contains(body, "Not asked: Ksher allows one query per order every 10 seconds") {
		t.Errorf("after a plain refresh, the detail page does not say it was too soon")
	}
}

func (e *orderEnv) gatewayV3(t *testing.T) *gateway.Client {
	t.Helper()
	c, err := gateway.New(gateway.Config{Kind: gateway.APIV3, BaseURL: e.url, Credentials: map[string]gateway.Credentials{
		"mch46100": {AppID: "mch46100", PrivateKey: e.mkey}}, KsherPublicKey: &e.kkey.PublicKey}, gateway.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The detail page shows every id and amount, the refunds and the raw
// answer with anything named sign, signature or token redacted.
func TestOrderDetailShowsEverythingAndRedacts(t *testing.T) {
	e := newOrderEnv(t)
	raw, _ := json.Marshal(map[string]any{"code": 0, "sign": "SIGN-VALUE", "data": map[string]any{"result": "SUCCESS",
		"nested": []any{map[string]any{"Token": "TOKEN-VALUE"}}, "signature": "SIG-VALUE"}})
	paid := time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC) // 00:30 on the 21st in Bangkok
	o, _, err := e.store.UpsertOrder(context.Background(), models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100", Kind: models.OrderKindKsherPay,
		MchOrderNo: "DETAIL-1", KsherOrderNo: "90020261121003000000001", ChannelOrderNo: "CH-1", Amount: 123456, Currency: "THB",
		PaidAmount: 24864, PaidCurrency: "CNY", Rate: "0.201400", Channel: "wechat", Status: models.StatusPaid, PaidAt: &paid,
		CreatedAt: &paid, Raw: raw, Source: "lookup", Refunds: []models.RefundSeen{{MchRefundNo: "RF-D-1", Amount: 23456}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.owner.get(fmt.Sprintf("/m/mch46100/orders/%d", o.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("detail = %d", resp.StatusCode)
	}
	for _, want := range []string{"DETAIL-1", "90020261121003000000001", "CH-1", "1,234.56", "248.64", "CNY", "0.201400",
		"234.56", "1,000.00", "RF-D-1", "2026-11-21 00:30:00 (Asia/Bangkok, +07)", `data-status="partially_refunded"`, "[redacted]"} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	for _, secret := range []string{"SIGN-VALUE", "TOKEN-VALUE", "SIG-VALUE"} {
		if strings.Contains(body, secret) {
			t.Errorf("detail shows %s", secret)
		}
	}
	// An order of another mid is not found through this one.
	if resp, _ := e.owner.get(fmt.Sprintf("/m/mch46200/orders/%d", o.ID)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("order through another mid = %d, want 404", resp.StatusCode)
	}
}

// The list filters (local days, statuses, channel, exact amounts, text),
// sorts and pages by keyset, keeps its state in the URL, answers htmx with
// the results only and history restores with the page.
func TestOrderListFiltersSortsAndPages(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	var us []models.OrderUpdate
	for i := range 60 {
		at := time.Date(2026, 11, 1+i%10, 23, 30, 0, 0, bkk) // late evening: the UTC date is the day before
		st := models.StatusPaid
		if i%4 == 0 {
			st = models.StatusFailed
		}
		ch := "promptpay"
		if i%3 == 0 {
			ch = "truemoney"
		}
		mid, acct := "mch46100", e.v3.ID
		if i%7 == 0 {
			mid, acct = "mch46200", e.vip.ID
		}
		us = append(us, models.OrderUpdate{AccountID: acct, Mid: mid, MchOrderNo: fmt.Sprintf("L-%03d", i), Amount: 10000 + int64(i)*50,
			Status: st, Channel: ch, CreatedAt: &at, Source: "seed"})
	}
	if _, err := e.store.UpsertOrders(ctx, us); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`data-testid="order-row" data-mch="([^"]+)"`)
	list := func(path string, hdr ...string) (*http.Response, string, []string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, body := e.owner.do(req)
		var mchs []string
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			mchs = append(mchs, m[1])
		}
		return resp, body, mchs
	}
	// Local day 2026-11-03 (Bangkok) holds i = 2, 12, 22, 32, 42, 52: 6 orders, 5 on mch46100 (42 is vip).
	_, body, got := list("/m/mch46100/orders?from=2026-11-03&to=2026-11-03")
	if len(got) != 5 || !strings.Contains(body, "Asia/Bangkok") {
		t.Errorf("one local day: %v", got)
	}
	_, _, got = list("/m/all/orders?from=2026-11-03&to=2026-11-03")
	if len(got) != 6 {
		t.Errorf("one local day on all mids: %d rows", len(got))
	}
	// Amounts are parsed exactly: 100.50 THB is 10050 satang (i = 1).
	_, _, got = list("/m/all/orders?min=100.50&max=100.50")
	if len(got) != 1 || got[0] != "L-001" {
		t.Errorf("amount 100.50 exactly: %v", got)
	}
	resp, body, _ := list("/m/all/orders?min=100.505")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="filter-errors"`) || !strings.Contains(body, "100.505") {
		t.Errorf("a bad amount is not reported next to the kept value")
	}
	_, _, got = list("/m/all/orders?status=failed&channel=truemoney&per=100")
	for _, m := range got {
		var i int
		fmt.Sscanf(m, "L-%d", &i)
		if i%4 != 0 || i%3 != 0 {
			t.Errorf("status/channel filter let %s through", m)
		}
	}
	if len(got) != 5 {
		t.Errorf("failed truemoney orders = %d, want 5", len(got))
	}
	_, _, got = list("/m/all/orders?q=L-05&sort=amount_asc")
	if strings.Join(got, ",") != "L-050,L-051,L-052,L-053,L-054,L-055,L-056,L-057,L-058,L-059" {
		t.Errorf("text + amount ascending = %v", got)
	}
	// Pages: 25, 25, 10 on all mids; next and previous links keep the filter.
	_, body, first := list("/m/all/orders?sort=oldest")
	next := regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="page-next"`).FindStringSubmatch(body)
	if len(first) != 25 || next == nil || !strings.Contains(next[1], "sort=oldest") {
		t.Fatalf("first page: %d rows, next %v", len(first), next)
	}
	if !strings.Contains(body, `data-testid="order-mid"`) {
		t.Errorf("/m/all has no mid column")
	}
	nextURL := strings.ReplaceAll(next[1], "&amp;", "&")
	resp, body, second := list(nextURL, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || len(second) != 25 || strings.Contains(body, "<html") || second[0] == first[0] {
		t.Errorf("htmx next page: %d rows, whole page %v", len(second), strings.Contains(body, "<html"))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary = %q, want HX-Request", resp.Header.Get("Vary"))
	}
	// htmx pushes the partial's URL: the header's mid switcher, out of
	// band, now keeps this filter and page (switching mid keeps them).
	switchTo := regexp.MustCompile(`(?s)<li id="mid-switcher"[^>]*hx-swap-oob="true".*href="(/m/mch46100/orders\?[^"]+)"[^>]*data-testid="switch-mch46100"`).FindStringSubmatch(body)
	if switchTo == nil || !strings.Contains(switchTo[1], "sort=oldest") || !strings.Contains(switchTo[1], "after=") {
		t.Errorf("the partial does not refresh the mid switcher for its URL: %v", switchTo)
	}
	prev := regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="page-prev"`).FindStringSubmatch(body)
	if prev == nil {
		t.Fatalf("second page has no previous link")
	}
	_, _, back := list(strings.ReplaceAll(prev[1], "&amp;", "&"))
	if strings.Join(back, ",") != strings.Join(first, ",") {
		t.Errorf("previous page differs from the first")
	}
	resp, body, _ = list(nextURL, "HX-Request", "true", "HX-History-Restore-Request", "true")
	if !strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="orders-filter"`) {
		t.Errorf("history restore did not get the whole page")
	}
	if resp, _, _ := list("/m/all/orders?after=garbage"); resp.StatusCode != http.StatusOK {
		t.Errorf("a bad cursor = %d, want the first page", resp.StatusCode)
	}
}

// Saved views: save the current filter under a name, find it listed (and
// marked current), replace it, delete it; nobody else sees or deletes it.
func TestSavedViewsPerPerson(t *testing.T) {
	e := newOrderEnv(t)
	resp, _ := e.owner.post("/m/all/orders/views", url.Values{"csrf": {e.owner.csrf}, "name": {"Failed PromptPay"},
		"query": {"status=failed&channel=promptpay&after=CURSOR&evil=1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/m/all/orders?channel=promptpay&status=failed" {
		t.Fatalf("save = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := e.owner.get("/m/all/orders?channel=promptpay&status=failed")
	if !strings.Contains(body, "Failed PromptPay") || !strings.Contains(body, `aria-current="page" data-testid="saved-view-link"`) {
		t.Errorf("saved view not listed as the current view")
	}
	resp, body = e.owner.post("/m/all/orders/views", url.Values{"csrf": {e.owner.csrf}, "name": {"  "}, "query": {"sort=oldest"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="saved-view-error"`) {
		t.Errorf("empty name = %d, not re-rendered with the problem", resp.StatusCode)
	}
	vs, _ := e.store.SavedViews(context.Background(), e.ownerID)
	if len(vs) != 1 {
		t.Fatalf("views = %d", len(vs))
	}
	other := newClient(t, e.app)
	other.login("fin@example.com", testPassword)
	_, body = other.get("/m/mch35000/orders")
	if strings.Contains(body, "Failed PromptPay") {
		t.Errorf("another person sees the view")
	}
	if resp, _ := other.post(fmt.Sprintf("/m/mch35000/orders/views/%d/delete", vs[0].ID), url.Values{"csrf": {other.csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another person deleting the view = %d, want 404", resp.StatusCode)
	}
	resp, _ = e.owner.post(fmt.Sprintf("/m/all/orders/views/%d/delete", vs[0].ID), url.Values{"csrf": {e.owner.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete = %d", resp.StatusCode)
	}
	if vs, _ := e.store.SavedViews(context.Background(), vs[0].UserID); len(vs) != 0 {
		t.Errorf("view not deleted")
	}
}

// The header search box submits to the current scope's search, and the
// "/" shortcut script is loaded from our own origin.
func TestHeaderSearchFollowsTheScope(t *testing.T) {
	e := newOrderEnv(t)
	_, body := e.owner.get("/m/mch46200/orders")
	if !strings.Contains(body, `action="/m/mch46200/search"`) || !regexp.MustCompile(`<script src="/static/js/app\.js\?v=\w+" defer>`).MatchString(body) {
		t.Errorf("search form or app.js missing from the layout")
	}
	_, body = e.owner.get("/m/all/search?q=QUERY-KEPT")
	if !strings.Contains(body, `value="QUERY-KEPT"`) || !strings.Contains(body, `action="/m/all/search"`) {
		t.Errorf("the search page does not keep its query in the box")
	}
}

// An open order Ksher does not know, or cannot be asked about, still shows
// its cached state, says why, and the failed call is on its timeline.
func TestOrderViewWhenKsherCannotAnswer(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	demo, err := e.store.FindMid(ctx, "mch35000")
	if err != nil {
		t.Fatal(err)
	}
	// An account whose vip token Ksher refuses (HTTP 401): Ksher did not
	// say it does not know the order, it refused to answer.
	refused, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "VIP wrong token", APIKind: models.APIVIP, BaseURL: e.url,
		Sandbox: true, Mids: []models.Mid{{Mid: "mch46201"}}, Credentials: &models.Credentials{Token: "not-the-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mid  string
		account    int64
		wantNotice string
	}{
		{"unknown to Ksher", "mch46100", e.v3.ID, "Ksher does not know this order."},
		{"gateway unreachable", "mch35000", demo.AccountID, "Ksher could not be asked (transport)"},
		{"credentials refused", "mch46201", refused.ID, "Ksher could not be asked (api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: tt.account, Mid: tt.mid, Kind: "redirect",
				MchOrderNo: "GHOST-" + tt.mid, Amount: 500, Status: models.StatusPending, Source: "link"})
			if err != nil {
				t.Fatal(err)
			}
			resp, body := e.owner.get(fmt.Sprintf("/m/%s/orders/%d", tt.mid, o.ID))
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.wantNotice) || !strings.Contains(body, `data-status="pending"`) {
				t.Errorf("detail = %d, want the cached state and %q", resp.StatusCode, tt.wantNotice)
			}
			if !strings.Contains(body, `data-kind="refresh" data-ok="false"`) {
				t.Errorf("the failed call is not on the timeline")
			}
		})
	}
	// A search on that mid says Ksher refused, not that the number is unknown.
	_, body := e.owner.get("/m/mch46201/search?q=ANY-ORDER-1")
	if m := regexp.MustCompile(`(?s)<li data-testid="tried-live" data-mid="mch46201".*?</li>`).FindString(body); !strings.Contains(m, `data-testid="tried-error"`) {
		t.Errorf("a search Ksher refused to answer is reported as %q", m)
	}
	// A refresh button pressed without JavaScript (a plain form, sent back
	// to the detail page) says just as clearly that Ksher could not be asked.
	o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: demo.AccountID, Mid: "mch35000", Kind: "redirect",
		MchOrderNo: "PAID-UNREACHABLE", Amount: 500, Status: models.StatusPaid, Source: "link"})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/m/mch35000/orders/%d", o.ID)
	resp, _ := e.owner.post(path+"/refresh", url.Values{"csrf": {e.owner.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), path+"?") {
		t.Fatalf("plain refresh = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body = e.owner.get(resp.Header.Get("Location")); !strings.Contains(body, "Could not ask Ksher (transport). The cached state is shown.") {
		t.Errorf("after a failed plain refresh the detail page does not say so")
	}
	// A forged outcome shows no text of its own.
	if _, body = e.owner.get(path + "?refreshed=failed&code=" + url.QueryEscape("<b>call us</b>")); strings.Contains(body, "call us") {
		t.Errorf("the detail page shows a code from its URL verbatim")
	}
}

// A number typed in part finds nothing itself; the page then lists cached
// orders whose merchant number starts with it (five, newest first) and
// links to the orders list for the rest. Too short a beginning lists none.
func TestSearchNothingFoundListsOrdersStartingWithIt(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	for i := range 7 {
		at := base.Add(time.Duration(i) * time.Minute)
		if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100",
			MchOrderNo: fmt.Sprintf("PART-10%d", i), Status: models.StatusPaid, Amount: 100, Currency: "THB", CreatedAt: &at, Source: "sync"}); err != nil {
			t.Fatal(err)
		}
	}
	rowRe := regexp.MustCompile(`data-testid="search-similar-row" data-mch="([^"]+)"`)
	_, body := e.search(t, "all", "PART-10")
	if !strings.Contains(body, `data-testid="search-none"`) {
		t.Fatalf("search PART-10 found an order itself:\n%s", body)
	}
	var got []string
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1])
	}
	if want := []string{"PART-106", "PART-105", "PART-104", "PART-103", "PART-102"}; !slices.Equal(got, want) {
		t.Errorf("similar orders = %v, want %v", got, want)
	}
	if !strings.Contains(body, `href="/m/all/orders?q=PART-10" data-testid="search-similar-more"`) {
		t.Errorf("no link to the orders list filtered by PART-10:\n%s", body)
	}
	if _, body := e.search(t, "all", "PART-105"); strings.Contains(body, "search-similar") || !strings.Contains(body, `data-mch="PART-105"`) {
		t.Errorf("an exact number shows the order, not a list of similar ones:\n%s", body)
	}
	if _, body := e.search(t, "all", "PAR"); strings.Contains(body, "search-similar") {
		t.Errorf("a three-character beginning lists similar orders:\n%s", body)
	}
}
