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

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// syncBuffer is a log sink safe for the app's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// impatientOwner signs the owner of e into a second app over e's store
// whose Ksher clients give up after 300 ms and never retry, so a call held
// by the sandbox's timeout fault ends as "Ksher did not answer in time"
// quickly. It returns the client and the app's log.
func (e *orderEnv) impatientOwner(t *testing.T) (*client, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	gws := models.NewGatewayClients(e.store, log, gateway.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}),
		gateway.WithMaxRetries(0), gateway.WithNoSleep())
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: log, Store: e.store, Gateways: gws, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour},
		Logins:   models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, app)
	if resp := c.login("owner@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner login = %d", resp.StatusCode)
	}
	return c, logs
}

// pendingOrder caches an open order of mid that the sandbox need not know.
func (e *orderEnv) pendingOrder(t *testing.T, account int64, mid, mch string) string {
	t.Helper()
	o, _, err := e.store.UpsertOrder(context.Background(), models.OrderUpdate{AccountID: account, Mid: mid, Kind: "redirect",
		MchOrderNo: mch, Amount: 500, Status: models.StatusPending, Source: "link"})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/m/%s/orders/%d", mid, o.ID)
}

// refresh presses an order's refresh button through htmx, in lang.
func refresh(c *client, path, lang string) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodPost, path+"/refresh", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("Accept-Language", lang)
	return c.do(req)
}

var noticeRe = regexp.MustCompile(`(?s)data-testid="refresh-notice">(.*?)</article>`)

// When Ksher does not answer in time, the refresh button's answer is that
// error, 504 "Ksher did not answer", in the reader's language (htmx swaps
// it into #flash); a plain form lands on the detail page saying so, and so
// does viewing an open order. A Ksher 5xx is 502, logged.
func TestOrderRefreshWhenKsherDoesNotAnswer(t *testing.T) {
	e := newOrderEnv(t)
	c, logs := e.impatientOwner(t)
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "*", Kind: sandbox.FaultTimeout}); err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct{ lang, want string }{
		{"en", "Ksher did not answer in time."},
		{"th", "Ksher ไม่ตอบกลับภายในเวลาที่กำหนด"},
	} {
		path := e.pendingOrder(t, e.v3.ID, "mch46100", fmt.Sprintf("SLOW-%d", i))
		resp, body := refresh(c, path, tt.lang)
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, tt.want) || strings.Contains(body, "<html") {
			t.Errorf("%s: refresh while Ksher is silent = %d, want 504 saying %q as a partial:\n%s", tt.lang, resp.StatusCode, tt.want, body)
		}
	}
	if !strings.Contains(logs.String(), "Request failed.") || !strings.Contains(logs.String(), "code="+models.EGATEWAYTIMEOUT) {
		t.Errorf("the 504 is not logged:\n%s", logs.String())
	}

	// Without JavaScript: back to the detail page, which says it.
	path := e.pendingOrder(t, e.v3.ID, "mch46100", "SLOW-PLAIN")
	resp, _ := c.post(path+"/refresh", url.Values{"csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?refreshed=timeout" {
		t.Fatalf("plain refresh = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := c.get(resp.Header.Get("Location")); !strings.Contains(body, "Ksher did not answer in time. The cached state is shown.") {
		t.Errorf("after a plain refresh Ksher did not answer, the detail page does not say so")
	}

	// Viewing an open order: the cached state, 200, worded by the kind.
	path = e.pendingOrder(t, e.v3.ID, "mch46100", "SLOW-VIEW")
	resp, body := c.get(path)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ksher did not answer in time: the cached state is shown.") || !strings.Contains(body, `data-status="pending"`) {
		t.Errorf("detail while Ksher is silent = %d, want 200 with the cached state and the reason", resp.StatusCode)
	}

	// The search asks mid by mid: 200, and says which mid did not answer.
	resp, body = c.get("/m/mch46100/search?q=SLOW-UNCACHED-1")
	tried := regexp.MustCompile(`(?s)<li data-testid="tried-live" data-mid="mch46100".*?</li>`).FindString(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(tried, `data-kind="timeout"`) || !strings.Contains(tried, "Ksher did not answer in time") {
		t.Errorf("search while Ksher is silent = %d, tried: %q", resp.StatusCode, tried)
	}

	// Test connection: no mid answered, so the answer is the 504.
	resp, body = c.htmxPost(fmt.Sprintf("/accounts/%d/test", e.v3.ID))
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "Ksher did not answer in time.") {
		t.Errorf("test connection while Ksher is silent = %d:\n%s", resp.StatusCode, body)
	}
	if at := auditOf(t, e.store, models.AuditAccountTest); len(at) != 1 || !strings.Contains(string(at[0].Details), `"ok": false`) {
		t.Errorf("the failed test connection is not audited: %+v", at)
	}

	// Ksher answers 5xx: 502, logged.
	e.sb.ClearFaults()
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "*", Kind: sandbox.Fault5xx, Status: 503}); err != nil {
		t.Fatal(err)
	}
	path = e.pendingOrder(t, e.v3.ID, "mch46100", "DOWN-1")
	resp, body = refresh(c, path, "en")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "Ksher&#39;s answer could not be used.") {
		t.Errorf("refresh while Ksher answers 503 = %d, want 502:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "code="+models.EBADGATEWAY) {
		t.Errorf("the 502 is not logged:\n%s", logs.String())
	}
}

// When Ksher declines, the refresh is a clear message in Ksher's own words
// (not a 500), in the reader's language, beside the cached state.
func TestOrderRefreshWhenKsherDeclines(t *testing.T) {
	e := newOrderEnv(t)
	// Ksher refuses this account's vip token (HTTP 401).
	refused, err := e.store.SaveAccount(context.Background(), models.SandboxSetup(), 0, models.AccountInput{Name: "VIP wrong token", APIKind: models.APIVIP,
		BaseURL: e.url, Sandbox: true, Mids: []models.Mid{{Mid: "mch46201"}}, Credentials: &models.Credentials{Token: "not-the-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct{ lang, want string }{
		{"en", "Ksher declined: "},
		{"th", "Ksher ปฏิเสธคำขอ: "},
	} {
		path := e.pendingOrder(t, refused.ID, "mch46201", fmt.Sprintf("REFUSED-%d", i))
		resp, body := refresh(e.owner, path, tt.lang)
		notice := noticeRe.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || notice == nil || !strings.Contains(notice[1], tt.want) ||
			!strings.Contains(notice[1], "signature verification failed") || !strings.Contains(body, `data-status="pending"`) {
			t.Errorf("%s: refresh Ksher declined = %d, want 200 with %q and Ksher's words:\n%s", tt.lang, resp.StatusCode, tt.want, body)
		}
	}
	// Without JavaScript: the detail page with the same message at once
	// (Ksher's words travel in no URL).
	path := e.pendingOrder(t, refused.ID, "mch46201", "REFUSED-PLAIN")
	resp, body := e.owner.post(path+"/refresh", url.Values{"csrf": {e.owner.csrf}})
	if notice := noticeRe.FindStringSubmatch(body); resp.StatusCode != http.StatusOK || notice == nil || !strings.Contains(notice[1], "Ksher declined: ") {
		t.Errorf("plain refresh Ksher declined = %d, want the detail page with the message", resp.StatusCode)
	}
}
