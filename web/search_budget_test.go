package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models"
)

// awayFromMinuteEnd waits, when a new minute is less than 15 s away, for it
// to start: the budgets count per minute, and a test that spends one must
// not see it renewed half-way.
func awayFromMinuteEnd() {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 15*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
}

// 35 concurrent searches by one person for distinct unknown numbers, with
// the default budget of 30 a minute: exactly 30 reach Ksher; the other five
// answer 200 and say the person's budget is spent. (Before the budget, all
// 35 reached Ksher.)
func TestSearchFloodStopsAtThePersonsBudget(t *testing.T) {
	e := newOrderEnv(t)
	awayFromMinuteEnd()
	before := e.sb.Calls("gateway_order_query") // one per search that reaches the v3 mid, asked first
	const n = 35
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, failed := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "/m/mch46100/search?q="+url.QueryEscape(fmt.Sprintf("FLOOD-%02d", i)), nil)
			for k, v := range e.owner.cookies {
				req.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			resp, err := e.app.Test(req, -1)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusOK {
				failed++
				return
			}
			var b strings.Builder
			buf := make([]byte, 32<<10)
			for {
				k, err := resp.Body.Read(buf)
				b.Write(buf[:k])
				if err != nil {
					break
				}
			}
			if strings.Contains(b.String(), `data-testid="search-budget" data-scope="person"`) {
				refused++
			}
		}()
	}
	wg.Wait()
	if got := e.sb.Calls("gateway_order_query") - before; got != 30 {
		t.Errorf("searches that reached Ksher = %d, want exactly 30", got)
	}
	if failed > 0 || refused != n-30 {
		t.Errorf("%d searches said the budget was spent, %d failed; want %d and none", refused, failed, n-30)
	}
}

// budgetApp is the app of e with its own order service, spending budgets.
func (e *orderEnv) budgetApp(t *testing.T, l models.LookupLimits) *client {
	t.Helper()
	orders := models.NewOrders(e.store, models.NewGatewayClients(e.store, nil), nil)
	orders.LimitLookups(l)
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Orders: orders, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour},
		Logins:   models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.owner.clone() // the owner's session: the store is the same
	c.app = app
	return c
}

var retryRe = regexp.MustCompile(`Try again in (\d+) seconds\.`)

// Over the person's budget, the page says so (in English and Thai), shows
// what the cache has, and asks Ksher nothing; a cached order is found as
// ever.
func TestSearchOverPersonsBudgetShowsTheCache(t *testing.T) {
	e := newOrderEnv(t)
	o := e.paidSandboxOrder(t, "mch46100", 1)
	awayFromMinuteEnd()
	c := e.budgetApp(t, models.LookupLimits{PerPerson: 2, PerAccount: 100})
	if _, body := c.get("/m/mch46100/search?q=" + url.QueryEscape(o.MchOrderNo)); !strings.Contains(body, `data-source="live"`) {
		t.Fatalf("first search was not live:\n%s", body)
	}
	if _, body := c.get("/m/mch46100/search?q=UNKNOWN-1"); strings.Contains(body, `data-testid="search-budget"`) {
		t.Fatalf("second search was refused:\n%s", body)
	}
	before := e.calls()
	resp, body := c.get("/m/mch46100/search?q=UNKNOWN-2")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="search-budget" data-scope="person"`) {
		t.Fatalf("over budget = %d, want 200 with the person's notice:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "You have made many live lookups to Ksher in the last minute (the limit is 2 a minute): showing what we already have.") {
		t.Errorf("notice text missing:\n%s", body)
	}
	if m := retryRe.FindStringSubmatch(body); m == nil || m[1] == "0" || len(m[1]) > 2 {
		t.Errorf("no retry time of 1 to 60 seconds in the notice: %v", m)
	}
	if !strings.Contains(body, `data-testid="search-none"`) || !strings.Contains(body, `data-testid="tried-budget"`) {
		t.Errorf("page does not show the cache's answer and the unasked mids:\n%s", body)
	}
	// The cache still answers: the order found live before.
	_, hit := c.get("/m/mch46100/search?q=" + url.QueryEscape(o.MchOrderNo))
	if !strings.Contains(hit, `data-source="cache"`) || strings.Contains(hit, `data-testid="search-budget"`) {
		t.Errorf("cached order over budget: not found from the cache, or refused:\n%s", hit)
	}
	req := httptest.NewRequest(http.MethodGet, "/m/mch46100/search?q=UNKNOWN-3", nil)
	req.Header.Set("Accept-Language", "th")
	if _, th := c.do(req); !strings.Contains(th, "คุณค้นหาสดกับ Ksher หลายครั้งในหนึ่งนาทีที่ผ่านมา") {
		t.Errorf("Thai notice missing:\n%s", th)
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("Ksher calls over budget = %d, want none", got)
	}
}

// Over an account's budget, the page names the account; the person's
// budget is not the reason.
func TestSearchOverAccountsBudgetNamesTheAccount(t *testing.T) {
	e := newOrderEnv(t)
	awayFromMinuteEnd()
	c := e.budgetApp(t, models.LookupLimits{PerPerson: 100, PerAccount: 1})
	c.get("/m/mch46100/search?q=ACCOUNT-1") // spends V3's, VIP's and Demo's budget
	before := e.calls()
	resp, body := c.get("/m/mch46100/search?q=ACCOUNT-2")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `data-scope="person"`) {
		t.Fatalf("over the account's budget = %d:\n%s", resp.StatusCode, body)
	}
	for _, name := range []string{"V3", "VIP", "Demo"} {
		want := "Many live lookups to Ksher were made for the merchant account " + name + " in the last minute, by everyone on it (the limit is 1 a minute)"
		if !strings.Contains(body, want) {
			t.Errorf("no notice for account %s:\n%s", name, body)
		}
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("Ksher calls over the accounts' budget = %d, want none", got)
	}
}

// A budget that cannot be read is a failure of the database: the search
// fails and asks Ksher nothing.
func TestSearchWithUnreadableBudgetAsksNobody(t *testing.T) {
	e := newOrderEnv(t)
	conn, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `ALTER TABLE lookup_budgets RENAME TO lookup_budgets_away`); err != nil {
		t.Fatal(err)
	}
	before := e.calls()
	if resp, _ := e.owner.get("/m/mch46100/search?q=NO-BUDGET"); resp.StatusCode < 500 {
		t.Errorf("search without a budget = %d, want a server error", resp.StatusCode)
	}
	if got := e.calls() - before; got != 0 {
		t.Errorf("Ksher calls = %d, want none", got)
	}
}
