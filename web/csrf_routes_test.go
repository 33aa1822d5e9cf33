package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models"
)

// csrfRefusal is the page the CSRF check answers with (error.csrf, en).
const csrfRefusal = "This form has expired"

// TestEveryStateChangingRouteRefusesABadCSRFToken walks the route table:
// every route that is not a GET, as an owner (every right, so only the
// token can stop the request), is refused with 403 and the "form has
// expired" page when the token is missing, belongs to another browser,
// was made with another SECRET_KEY, is malformed, or the right one comes
// from another site (Origin); in the form field and in the X-CSRF-Token
// header alike. Nothing in the database changes meanwhile (every table's
// rows are compared), and the person is still signed in. The same request
// with the right token then gets past the check (so the refusals are the
// token's doing). The only routes left out are Ksher's notification
// receivers (/hooks/): Ksher calls them with no browser, they carry
// Ksher's signature instead, and a forgery is refused there
// (TestHookV3RejectsForgeries, TestHookVIPRejectsForgeries).
func TestEveryStateChangingRouteRefusesABadCSRFToken(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc, ExposeAuthz: true,
		Sessions: models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour}, Logins: models.LoginPolicy{Window: time.Minute, PerAccount: 1000, PerIP: 1000},
	}})
	if err != nil {
		t.Fatal(err)
	}
	const ownerEmail = "csrf-owner@example.com"
	if _, err := e.store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: ownerEmail, Password: testPassword, Role: models.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	signIn := func() *client {
		c := newClient(t, app)
		if resp := c.login(ownerEmail, testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login = %d", resp.StatusCode)
		}
		c.get("/account/security") // a page of the signed-in browser: its token
		return c
	}
	owner := signIn()
	other := newClient(t, app) // another browser, signed in as someone else
	if resp := other.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login fin = %d", resp.StatusCode)
	}
	otherKey := &middleware{csrfKey: deriveKey([]byte(strings.Repeat("y", 32)), "csrf")}
	if owner.csrf == "" || other.csrf == "" || owner.csrf == other.csrf {
		t.Fatalf("tokens: owner %q, other %q", owner.csrf, other.csrf)
	}
	bad := []struct{ name, token, origin string }{
		{"no token", "", ""},
		{"another browser's token", other.csrf, ""},
		{"this browser's seed signed with another SECRET_KEY", otherKey.csrfToken(owner.cookies["ksd_csrf"]), ""},
		{"truncated", owner.csrf[:len(owner.csrf)-1], ""},
		{"one character changed", flipLast(owner.csrf), ""},
		{"not base64", "%%%<script>" + owner.csrf, ""},
		{"the session cookie", owner.cookies["ksd_session"], ""},
		{"right token, another site's Origin", owner.csrf, "https://evil.example"},
		{"right token, Origin null", owner.csrf, "null"},
	}

	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	before := tableDigests(t, conn)
	if len(before) < 10 || before["audit_log"] == "" {
		t.Fatalf("digests of %d tables (audit_log %q): the comparison would prove nothing", len(before), before["audit_log"])
	}

	var checked []Rule
	for _, rule := range RouteTable(app) {
		if rule.Method == fiber.MethodGet {
			continue
		}
		path := routePath(rule)
		if isExemptFromCSRF(path) {
			if !strings.HasPrefix(rule.Path, "/hooks/ksher/") || rule.Kind != kindPublic {
				t.Errorf("%s %s is exempt from CSRF but is not one of Ksher's notification receivers", rule.Method, rule.Path)
			}
			continue
		}
		checked = append(checked, rule)
		for _, b := range bad {
			for _, inHeader := range []bool{false, true} {
				resp, body := owner.do(tokenRequest(rule.Method, path, b.token, b.origin, inHeader))
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, csrfRefusal) || resp.Header.Get("X-Ksd-Authz") != "" {
					t.Errorf("%s %s with %s (header %v) = %d (authz %q), want the 403 CSRF refusal",
						rule.Method, path, b.name, inHeader, resp.StatusCode, resp.Header.Get("X-Ksd-Authz"))
				}
			}
		}
	}
	if len(checked) < 20 {
		t.Fatalf("checked %d state-changing routes: the route table lost some, or the walk did", len(checked))
	}
	after := tableDigests(t, conn)
	for name, d := range before {
		if after[name] != d {
			t.Errorf("table %s changed under refused requests", name)
		}
	}
	if resp, _ := owner.get("/account/security"); resp.StatusCode != http.StatusOK {
		t.Errorf("the owner's session did not survive the refused requests: %d", resp.StatusCode)
	}

	// The right token gets through: the check is what refused the others. A
	// fresh session each time, since some of these routes end it.
	for _, rule := range checked {
		path := routePath(rule)
		for _, inHeader := range []bool{false, true} {
			c := signIn()
			resp, body := c.do(tokenRequest(rule.Method, path, c.csrf, "http://example.com", inHeader))
			passed := !strings.Contains(body, csrfRefusal)
			if rule.Kind == kindGlobal || rule.Kind == kindMid {
				passed = passed && resp.Header.Get("X-Ksd-Authz") == "ok"
			}
			if !passed || resp.StatusCode >= 500 {
				t.Errorf("%s %s with the right token (header %v) = %d (authz %q), want it past the CSRF check",
					rule.Method, path, inHeader, resp.StatusCode, resp.Header.Get("X-Ksd-Authz"))
			}
		}
	}
	t.Logf("%d state-changing routes x %d bad tokens x 2 transports refused; %d tables unchanged", len(checked), len(bad), len(before))
}

// routePath fills a rule's parameters: a mid the owner holds, id 1.
func routePath(rule Rule) string {
	return paramRe.ReplaceAllString(strings.Replace(rule.Path, ":mid", "mch35000", 1), "1")
}

// tokenRequest is a form post carrying token in the csrf field, or in the
// X-CSRF-Token header as htmx sends it; origin, when set, is its Origin.
func tokenRequest(method, path, token, origin string, inHeader bool) *http.Request {
	form := url.Values{"name": {"csrf probe"}}
	if token != "" && !inHeader {
		form.Set("csrf", token)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if inHeader {
		req.Header.Set("HX-Request", "true")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return req
}

func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}

// tableDigests is a digest of every row of every table, so a test can
// tell that nothing changed. Sessions are compared without the activity
// time that every request a signed-in person makes may move.
func tableDigests(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		row := "t::text"
		if name == "sessions" {
			row = "(t.id, t.user_id, t.created_at, t.expires_at, t.ip, t.user_agent, t.revoked_at)::text"
		}
		var n int64
		var digest string
		q := `SELECT count(*), coalesce(md5(string_agg(` + row + `, E'\n' ORDER BY ` + row + `)), '') FROM ` +
			pgx.Identifier{name}.Sanitize() + ` t`
		if err := conn.QueryRow(ctx, q).Scan(&n, &digest); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = digest
	}
	return out
}
