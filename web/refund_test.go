package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// The refund pages through the app, against a real Postgres and the
// sandbox (v3 and vip), with refunds sent by real River jobs.

var (
	refundNoRe   = regexp.MustCompile(`name="refund_no" value="([^"]+)"`)
	refundRowRe  = regexp.MustCompile(`data-testid="refunds-row" data-id="(\d+)" data-status="([a-z]+)" data-order="([^"]+)"`)
	refundStatRe = regexp.MustCompile(`data-testid="refund-state"[^>]*data-status="([a-z]+)"`)
)

var refundSeq atomic.Int64

// paidOrder makes an order of amount on api's mid at the sandbox, pays it,
// and caches it the way a person would: a search that asks Ksher.
func (e *hookEnv) paidOrder(t *testing.T, c *client, api string, amount int64) *models.Order {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("RW-%d-%d", time.Now().UnixNano()%1e9, refundSeq.Add(1))
	mid := hookV3Mid
	var err error
	if api == models.APIVIP {
		mid = hookVIPMid
		_, err = e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: amount,
			RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"})
	} else {
		_, err = e.v3c.Counter.QR(ctx, &gateway.QRParams{Mid: hookV3Mid, MerchantOrderID: id, Amount: amount, Channel: "truemoney"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(id, "truemoney"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if o := e.order(t, mid, id); o != nil && o.Status == models.StatusPaid {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s never cached as paid", id)
		}
		c.get("/m/" + mid + "/search?q=" + url.QueryEscape(id))
	}
}

func orderPath(o *models.Order) string {
	return "/m/" + o.Mid + "/orders/" + strconv.FormatInt(o.ID, 10)
}

// refundForm opens the order page and returns the panel's refund number
// ("" when the page has no panel) and the page.
func refundForm(t *testing.T, c *client, o *models.Order) (string, string) {
	t.Helper()
	resp, body := c.get(orderPath(o))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("order page = %d", resp.StatusCode)
	}
	if m := refundNoRe.FindStringSubmatch(body); m != nil {
		return m[1], body
	}
	return "", body
}

func postRefund(c *client, o *models.Order, fields url.Values, htmx bool) (*http.Response, string) {
	fields.Set("csrf", c.csrf)
	req := httptest.NewRequest(http.MethodPost, orderPath(o)+"/refunds", strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	return c.do(req)
}

func refundRows(t *testing.T, e *hookEnv, orderID int64) []models.Refund {
	t.Helper()
	rs, err := e.store.OrderRefunds(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// exec runs SQL on the test's database (set-up the app has no page for).
func (e *hookEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.env.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// The panel is there only for people who may refund on the order's mid,
// shows the rules before the button, and a person without the right cannot
// post a refund either.
func TestRefundPanelOnlyWithTheRefundRight(t *testing.T) {
	e := newHookEnv(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid, hookVIPMid)
	viewer := e.signIn(t, "viewer@example.com", models.RoleViewer, hookV3Mid, hookVIPMid)
	for _, api := range []string{models.APIv3, models.APIVIP} {
		o := e.paidOrder(t, fin, api, 10000)
		no, body := refundForm(t, fin, o)
		if no == "" || !strings.Contains(body, `data-testid="refund-panel"`) || !strings.Contains(body, `data-testid="rule-partial"`) ||
			!strings.Contains(body, `data-testid="refund-password"`) || !strings.Contains(body, "100.00") {
			t.Fatalf("%s: finance's order page lacks the panel, its rules or the password:\n%s", api, body)
		}
		if api == models.APIVIP && (!strings.Contains(body, `data-by="account_setting"`) || !strings.Contains(body, `data-testid="rule-query-by-order"`)) {
			t.Errorf("vip panel: want the account's setting and 'outcome read from the order'")
		}
		if api == models.APIv3 && !strings.Contains(body, `data-by="not_reported"`) {
			t.Errorf("v3 panel before Test connection: want 'not reported yet, Ksher decides'")
		}
		// In Thai, every string of the panel is worded.
		req := httptest.NewRequest(http.MethodGet, orderPath(o), nil)
		req.Header.Set("Accept-Language", "th")
		if _, th := fin.do(req); !strings.Contains(th, "คืนเงินส่วนที่เหลือ (100.00 THB)") || regexp.MustCompile(`>\s*(refund|orders)\.[a-z_.]+\s*<`).MatchString(th) {
			t.Errorf("%s: the Thai panel is not worded in Thai", api)
		}
		// Another tab of the same person carries the same number.
		if again, _ := refundForm(t, fin, o); again != no {
			t.Errorf("%s: second tab's number %s, want %s", api, again, no)
		}
		if vno, vbody := refundForm(t, viewer, o); vno != "" || strings.Contains(vbody, `data-testid="refund-panel"`) {
			t.Errorf("%s: a viewer sees the refund panel", api)
		}
		resp, _ := postRefund(viewer, o, url.Values{"refund_no": {no}, "amount": {"10.00"}, "reason": {"x"}, "password": {testPassword}}, false)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: a viewer's refund POST = %d, want 403", api, resp.StatusCode)
		}
		if n := len(refundRows(t, e, o.ID)); n != 0 {
			t.Errorf("%s: refunds after refused posts = %d", api, n)
		}
	}
}

// A bad amount, a missing reason or a wrong password re-render the panel
// (200, plain and htmx) with the field's message, and make nothing.
func TestRefundBadInputRerendersAndMakesNothing(t *testing.T) {
	e := newHookEnv(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid)
	o := e.paidOrder(t, fin, models.APIv3, 10000)
	no, _ := refundForm(t, fin, o)
	cases := []struct {
		name   string
		fields url.Values
		field  string
		text   string
	}{
		// First: a right password with a valid form confirms the step-up
		// for 5 minutes (then no password is asked).
		{"wrong password", url.Values{"amount": {"10.00"}, "reason": {"r"}, "password": {"not it at all"}}, "password", "This is not your current password."},
		{"three decimals", url.Values{"amount": {"12.345"}, "reason": {"r"}, "password": {testPassword}}, "amount", "Enter an amount such as 1,234.50"},
		{"letters", url.Values{"amount": {"ten"}, "reason": {"r"}, "password": {testPassword}}, "amount", "Enter an amount such as 1,234.50"},
		{"zero", url.Values{"amount": {"0"}, "reason": {"r"}, "password": {testPassword}}, "amount", "Enter an amount above zero."},
		{"above the remaining", url.Values{"amount": {"150.00"}, "reason": {"r"}, "password": {testPassword}}, "amount", "Only 100.00 THB can still be refunded."},
		{"no reason", url.Values{"amount": {"10.00"}, "reason": {"  "}, "password": {testPassword}}, "reason", "Enter a reason."},
	}
	for _, tc := range cases {
		for _, htmx := range []bool{false, true} {
			tc.fields.Set("refund_no", no)
			resp, body := postRefund(fin, o, tc.fields, htmx)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="error-`+tc.field+`"`) || !strings.Contains(body, tc.text) {
				t.Errorf("%s (htmx %v) = %d; want 200 with %q on %s:\n%s", tc.name, htmx, resp.StatusCode, tc.text, tc.field, body)
			}
			if htmx && strings.Contains(body, "<html") {
				t.Errorf("%s: htmx got a whole page, want the panel", tc.name)
			}
			if !htmx && !strings.Contains(body, `data-testid="order-panel"`) {
				t.Errorf("%s: a plain form should get the order page back", tc.name)
			}
		}
	}
	if n := len(refundRows(t, e, o.ID)); n != 0 {
		t.Errorf("refunds after bad input = %d, want 0", n)
	}
	if as := e.audits(t, models.AuditRefund); len(as) != 0 {
		t.Errorf("refund audit entries = %d, want 0", len(as))
	}
}

// A support person's cap refuses a refund above it with 403 and its
// reason, audited as refund_refused; nothing else is written. Under the
// cap the same person's refund is made.
func TestRefundSupportCapIsForbiddenAndAudited(t *testing.T) {
	e := newHookEnv(t)
	sup := e.signIn(t, "support@example.com", models.RoleSupport, hookV3Mid)
	e.exec(t, "UPDATE memberships SET refund_cap = 1000 WHERE user_id = (SELECT id FROM users WHERE email = 'support@example.com')")
	o := e.paidOrder(t, sup, models.APIv3, 10000)
	no, body := refundForm(t, sup, o)
	if !strings.Contains(body, `data-testid="rule-cap"`) || !strings.Contains(body, "10.00 THB per refund") {
		t.Errorf("the panel does not show the support limit:\n%s", body)
	}
	for _, htmx := range []bool{false, true} {
		resp, body := postRefund(sup, o, url.Values{"refund_no": {no}, "amount": {"20.00"}, "reason": {"customer"}, "password": {testPassword}}, htmx)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This refund is above your refund limit (10.00 THB).") {
			t.Errorf("above the cap (htmx %v) = %d, want 403 with the limit:\n%s", htmx, resp.StatusCode, body)
		}
	}
	if n := len(refundRows(t, e, o.ID)); n != 0 {
		t.Errorf("refunds after refusals = %d", n)
	}
	refused := e.audits(t, models.AuditRefundRefused)
	if len(refused) != 2 || refused[0].ActorEmail != "support@example.com" || !strings.Contains(strings.ReplaceAll(string(refused[0].Details), " ", ""), `"amount":2000`) {
		t.Errorf("refund_refused entries = %+v, want 2 of 2000 by support", refused)
	}
	resp, _ := postRefund(sup, o, url.Values{"refund_no": {no}, "amount": {"10.00"}, "reason": {"customer"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("at the cap = %d, want 303 (the step-up confirmed by the refused tries)", resp.StatusCode)
	}
	if rs := refundRows(t, e, o.ID); len(rs) != 1 || rs[0].Amount != 1000 {
		t.Errorf("refunds = %+v, want one of 1000", rs)
	}
}

// Two partial refunds (the second "the rest") on each API: sent by the
// jobs, the order ends refunded; the list filters them, each has its page
// with its order, Ksher's number and its timeline; a resubmitted number
// gives the same refund.
func TestRefundListFiltersAndRefundPage(t *testing.T) {
	e := newHookEnv(t)
	e.startJobs(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid, hookVIPMid)
	byAPI := map[string]*models.Order{}
	for _, api := range []string{models.APIv3, models.APIVIP} {
		o := e.paidOrder(t, fin, api, 10000)
		byAPI[api] = o
		no, _ := refundForm(t, fin, o)
		resp, _ := postRefund(fin, o, url.Values{"refund_no": {no}, "amount": {"30.00"}, "reason": {"damaged box"}, "password": {testPassword}}, false)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/m/"+o.Mid+"/refunds/") {
			t.Fatalf("%s: first refund = %d %s", api, resp.StatusCode, loc)
		}
		// The same number again (a replayed POST): the same refund.
		again, _ := postRefund(fin, o, url.Values{"refund_no": {no}, "amount": {"30.00"}, "reason": {"damaged box"}}, false)
		if again.Header.Get("Location") != loc {
			t.Errorf("%s: replay went to %s, want %s", api, again.Header.Get("Location"), loc)
		}
		e.poll(t, fin, loc, api+" refund to succeed", func(_ *http.Response, body string) bool {
			m := refundStatRe.FindStringSubmatch(body)
			return m != nil && m[1] == models.RefundSucceeded
		})
		// Settled, the state box polled on the order page brings the whole
		// order panel up to date; on the refund's page, a reload.
		req := httptest.NewRequest(http.MethodGet, loc, nil)
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", "http://app"+orderPath(o))
		if resp, body := fin.do(req); resp.Header.Get("HX-Retarget") != "#order-panel" || !strings.Contains(body, `data-testid="order-panel"`) ||
			!strings.Contains(body, `data-testid="refund-state"`) || !strings.Contains(body, `data-status="partially_refunded"`) {
			t.Errorf("%s: settled poll from the order page = %q, want the order panel, partially refunded:\n%s", api, resp.Header.Get("HX-Retarget"), body)
		}
		no2, body := refundForm(t, fin, o)
		if no2 == no || !strings.Contains(body, `data-testid="stepup-valid"`) || !strings.Contains(body, "Refund the rest (70.00 THB)") {
			t.Fatalf("%s: second form: number %s (first %s), want a new one, the step-up valid and 70.00 left:\n%s", api, no2, no, body)
		}
		resp, body = postRefund(fin, o, url.Values{"refund_no": {no2}, "full": {"1"}, "reason": {"rest of it"}}, true)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="refund-state"`) || !strings.Contains(body, no2) || strings.Contains(body, "<html") {
			t.Fatalf("%s: htmx 'refund the rest' = %d, want the panel with the refund's state:\n%s", api, resp.StatusCode, body)
		}
		rs := refundRows(t, e, o.ID)
		if len(rs) != 2 || rs[1].Amount != 7000 {
			t.Fatalf("%s: refunds = %+v, want 3000 and 7000", api, rs)
		}
		e.poll(t, fin, refundURLOf(&rs[1]), api+" second refund", func(_ *http.Response, body string) bool {
			m := refundStatRe.FindStringSubmatch(body)
			return m != nil && m[1] == models.RefundSucceeded
		})
		_, page := fin.get(orderPath(o))
		if !strings.Contains(page, `data-status="refunded"`) || !strings.Contains(page, `data-testid="refund-blocked">Nothing is left to refund on this order.`) {
			t.Errorf("%s: the order page after both refunds: want status refunded and nothing left to refund", api)
		}
		if !strings.Contains(page, "Refund "+no+" of 30.00 THB asked for") || !strings.Contains(page, "Refund "+no2+" of 70.00 THB succeeded") {
			t.Errorf("%s: the order's timeline does not word the refunds:\n%s", api, page)
		}
	}
	// Lists: one mid, every mid, by mid, by state, by days.
	list := func(path string) [][]string {
		t.Helper()
		resp, body := fin.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
		return refundRowRe.FindAllStringSubmatch(body, -1)
	}
	if rows := list("/m/" + hookV3Mid + "/refunds"); len(rows) != 2 || rows[0][3] != byAPI[models.APIv3].MchOrderNo {
		t.Errorf("v3 mid's list = %v, want its two refunds", rows)
	}
	if rows := list("/m/all/refunds"); len(rows) != 4 {
		t.Errorf("all mids' list = %d rows, want 4", len(rows))
	}
	if rows := list("/m/all/refunds?mid=" + hookVIPMid); len(rows) != 2 || rows[0][3] != byAPI[models.APIVIP].MchOrderNo {
		t.Errorf("all, vip mid = %v", rows)
	}
	if rows := list("/m/all/refunds?state=failed"); len(rows) != 0 {
		t.Errorf("failed refunds = %v, want none", rows)
	}
	if rows := list("/m/all/refunds?state=succeeded"); len(rows) != 4 {
		t.Errorf("succeeded refunds = %d, want 4", len(rows))
	}
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	today := time.Now().In(bkk).Format(time.DateOnly)
	yesterday := time.Now().In(bkk).AddDate(0, 0, -1).Format(time.DateOnly)
	if rows := list("/m/all/refunds?from=" + today + "&to=" + today); len(rows) != 4 {
		t.Errorf("today's refunds = %d, want 4", len(rows))
	}
	if rows := list("/m/all/refunds?to=" + yesterday); len(rows) != 0 {
		t.Errorf("refunds up to yesterday = %d, want 0", len(rows))
	}
	resp, body := fin.get("/m/all/refunds?from=" + today + "&to=" + yesterday)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "The end date is before the start date.") {
		t.Errorf("a reversed range = %d, want 200 with its message", resp.StatusCode)
	}
	// The refund's page.
	rf := refundRows(t, e, byAPI[models.APIv3].ID)[0]
	resp, body = fin.get(refundURLOf(&rf))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+orderPath(byAPI[models.APIv3])+`"`) ||
		!strings.Contains(body, rf.KsherRefundNo) || rf.KsherRefundNo == "" || !strings.Contains(body, "damaged box") ||
		!strings.Contains(body, "fin@example.com") || strings.Count(body, `data-testid="refund-timeline-row"`) < 2 ||
		!strings.Contains(body, `data-testid="raw"`) {
		t.Errorf("refund page = %d; want the order link, Ksher's number, the reason, the requester, the timeline and the raw answer:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `"sign"`) && !strings.Contains(body, "redacted") {
		t.Errorf("the refund page shows a signature")
	}
	// Another person's mids: not found.
	other := e.signIn(t, "other@example.com", models.RoleFinance, hookVIPMid)
	if resp, _ := other.get(refundURLOf(&rf)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a refund of a mid the person does not hold = %d, want 404", resp.StatusCode)
	}
}

// The list pages by keyset, 50 a page, without repeating or losing rows.
func TestRefundListKeysetPages(t *testing.T) {
	e := newHookEnv(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid)
	o := e.paidOrder(t, fin, models.APIv3, 100000)
	e.exec(t, `INSERT INTO refunds (order_id, mid, mch_refund_no, amount, currency, status, origin, created_at, updated_at)
		SELECT $1, $2, 'RFPAGE' || g, 100, 'THB', 'failed', 'dashboard', now() - g * interval '1 second', now() FROM generate_series(1, 53) g`, o.ID, o.Mid)
	seen := map[string]bool{}
	next, pages := "/m/"+hookV3Mid+"/refunds", 0
	for next != "" {
		_, body := fin.get(next)
		pages++
		for _, m := range refundRowRe.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("row %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" data-testid="refunds-next"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 53 || pages != 2 {
		t.Errorf("rows %d over %d pages, want 53 over 2", len(seen), pages)
	}
}

func refundURLOf(r *models.Refund) string {
	return "/m/" + r.Mid + "/refunds/" + strconv.FormatInt(r.ID, 10)
}

// The drift page lists unknown refunds, those the reconciler gave up on as
// needing a person; deciding one needs a reason, is audited, and settles
// the refund (and the order).
func TestDriftResolveUnknownRefund(t *testing.T) {
	e := newHookEnv(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid, hookVIPMid)
	o := e.paidOrder(t, fin, models.APIVIP, 10000)
	no, _ := refundForm(t, fin, o)
	resp, _ := postRefund(fin, o, url.Values{"refund_no": {no}, "amount": {"40.00"}, "reason": {"late delivery"}, "password": {testPassword}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("refund = %d", resp.StatusCode)
	}
	rf := refundRows(t, e, o.ID)[0]
	// The jobs are not running: as if Ksher's answer had not told and the
	// reconciler had given up.
	e.exec(t, "UPDATE refunds SET status = 'unknown', unknown_since = now() - interval '2 days', needs_person = true, checks = 12 WHERE id = $1", rf.ID)
	_, body := fin.get("/m/all/drift")
	if !strings.Contains(body, `data-testid="drift-refund-row" data-refund="`+no+`" data-needs-person="true"`) || !strings.Contains(body, "Needs a person") ||
		!strings.Contains(body, `data-testid="drift-resolve-form"`) {
		t.Fatalf("drift page lacks the unknown refund needing a person:\n%s", body)
	}
	path := refundURLOf(&rf) + "/resolve"
	resp, body = fin.post(path, url.Values{"csrf": {fin.csrf}, "state": {"succeeded"}, "reason": {""}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Enter a reason.") {
		t.Errorf("resolve without a reason = %d, want 200 with the message", resp.StatusCode)
	}
	resp, body = fin.post(path, url.Values{"csrf": {fin.csrf}, "state": {"maybe"}, "reason": {"portal"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Choose succeeded or failed.") || !strings.Contains(body, `value="portal"`) {
		t.Errorf("resolve with a bad state = %d, want 200 with the message and the reason kept", resp.StatusCode)
	}
	if got := refundRows(t, e, o.ID)[0]; got.Status != models.RefundUnknown {
		t.Fatalf("state after bad input = %s", got.Status)
	}
	// A viewer (no refund right) may not decide.
	viewer := e.signIn(t, "viewer@example.com", models.RoleViewer, hookVIPMid)
	viewer.get("/m/" + hookVIPMid + "/refunds")
	if resp, _ := viewer.post(path, url.Values{"csrf": {viewer.csrf}, "state": {"failed"}, "reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's resolve = %d, want 403", resp.StatusCode)
	}
	resp, _ = fin.post(path, url.Values{"csrf": {fin.csrf}, "state": {"succeeded"}, "reason": {"seen in Ksher's portal"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != refundURLOf(&rf) {
		t.Fatalf("resolve = %d %s, want 303 to the refund", resp.StatusCode, resp.Header.Get("Location"))
	}
	got := refundRows(t, e, o.ID)[0]
	if got.Status != models.RefundSucceeded || got.Resolution != "seen in Ksher's portal" || got.ResolvedBy == nil {
		t.Errorf("refund after resolve = %s %q %v", got.Status, got.Resolution, got.ResolvedBy)
	}
	if as := e.audits(t, models.AuditRefundOutcome); len(as) == 0 || as[0].ActorEmail != "fin@example.com" {
		t.Errorf("refund_outcome audit = %+v, want fin's", as)
	}
	_, body = fin.get(refundURLOf(&rf))
	if !strings.Contains(body, `data-testid="refund-resolution"`) || !strings.Contains(body, "seen in Ksher") {
		t.Errorf("the refund page does not say it was decided by hand")
	}
	_, body = fin.get("/m/all/drift")
	if strings.Contains(body, `data-refund="`+no+`"`) {
		t.Errorf("the decided refund is still on the drift page")
	}
	// Deciding it again: a conflict, said plainly.
	if resp, _ := fin.post(path, url.Values{"csrf": {fin.csrf}, "state": {"failed"}, "reason": {"again"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("deciding a decided refund = %d, want 409", resp.StatusCode)
	}
	_, audit := MustOwnerOf(t, e).get("/audit?action=refund_outcome")
	if !strings.Contains(audit, "Refund outcome") {
		t.Errorf("the audit page does not word refund_outcome")
	}
}

// MustOwnerOf signs in an owner on the hook env's app.
func MustOwnerOf(t *testing.T, e *hookEnv) *client {
	t.Helper()
	return e.signIn(t, "owner@example.com", models.RoleOwner)
}

// A vip account's "partial refunds allowed" is saved by owners (audited)
// and the panel follows it: off, only the full amount may be refunded.
func TestVIPPartialRefundSetting(t *testing.T) {
	e := newHookEnv(t)
	owner := MustOwnerOf(t, e)
	page := "/accounts/" + strconv.FormatInt(e.vip.ID, 10)
	_, body := owner.get(page)
	if !strings.Contains(body, `value="1" checked data-testid="allow-partial-refund"`) {
		t.Fatalf("vip account page lacks the checked setting:\n%s", body)
	}
	if _, v3 := owner.get("/accounts/" + strconv.FormatInt(e.v3.ID, 10)); strings.Contains(v3, `data-testid="allow-partial-refund"`) {
		t.Errorf("a v3 account shows the vip setting")
	}
	resp, _ := owner.post(page+"/refunds", url.Values{"csrf": {owner.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", resp.StatusCode)
	}
	if allow, _ := e.store.AllowPartialRefund(context.Background(), e.vip.ID); allow {
		t.Errorf("setting still on")
	}
	if as := e.audits(t, models.AuditAccountUpdate); len(as) == 0 || !strings.Contains(strings.ReplaceAll(string(as[0].Details), " ", ""), `"allow_partial_refund":false`) {
		t.Errorf("account_update audit = %+v", as)
	}
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookVIPMid)
	if resp, _ := fin.post(page+"/refunds", url.Values{"csrf": {fin.csrf}, "allow_partial_refund": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("finance saving the setting = %d, want 403", resp.StatusCode)
	}
	o := e.paidOrder(t, fin, models.APIVIP, 10000)
	no, body := refundForm(t, fin, o)
	if !strings.Contains(body, `data-partial="false" data-by="account_setting"`) {
		t.Errorf("panel does not say partial refunds are off by the account's setting")
	}
	resp, body = postRefund(fin, o, url.Values{"refund_no": {no}, "amount": {"10.00"}, "reason": {"r"}, "password": {testPassword}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Only the full amount can be refunded on this order") {
		t.Errorf("a partial refund with the setting off = %d:\n%s", resp.StatusCode, body)
	}
}

// With two-factor sign-in on, the step-up asks for a code too; a wrong
// code re-renders the panel with its message and makes nothing.
func TestRefundStepUpAsksForTheCode(t *testing.T) {
	e := newHookEnv(t)
	fin := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid)
	fin.get("/account/security")
	enableTOTP(t, e.env, fin, time.Now())
	o := e.paidOrder(t, fin, models.APIv3, 10000)
	no, body := refundForm(t, fin, o)
	if !strings.Contains(body, `data-testid="refund-code"`) {
		t.Fatalf("the panel asks for no code with two-factor sign-in on")
	}
	resp, body := postRefund(fin, o, url.Values{"refund_no": {no}, "amount": {"10.00"}, "reason": {"r"}, "password": {testPassword}, "code": {"000000"}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="error-code"`) || !strings.Contains(body, "This code is not right.") {
		t.Errorf("wrong code = %d, want 200 with the code's message:\n%s", resp.StatusCode, body)
	}
	if n := len(refundRows(t, e, o.ID)); n != 0 {
		t.Errorf("refunds after a wrong code = %d", n)
	}
}
