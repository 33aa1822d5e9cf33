package web

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testPassword = "a long test password"

// testEnv is a migrated store with one person and an app over it.
type testEnv struct {
	store *models.Store
	app   *fiber.App
	logs  *strings.Builder
	user  *models.User
	dsn   string // the test's database
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dsn := pgtest.NewDatabase(t)
	store, err := models.Open(ctx, dsn, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	store.SetSecretKey([]byte(strings.Repeat("x", 32)))
	mustAccount(t, store, "Demo", "mch35000", "mch35001")
	u, err := store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "fin@example.com", Name: "Fin", Password: testPassword, Role: models.RoleFinance, Mids: []string{"mch35000"}})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{store: store, app: mustApp(t, store, log), logs: logs, user: u, dsn: dsn}
}

// mustAccount creates a vip merchant account with the given mids.
func mustAccount(t *testing.T, store *models.Store, name string, mids ...string) *models.MerchantAccount {
	t.Helper()
	// A local address nothing listens on: tests never reach the internet.
	in := models.AccountInput{Name: name, APIKind: models.APIVIP, BaseURL: "http://127.0.0.1:1",
		Sandbox: true, Credentials: &models.Credentials{Token: "tok-" + name}}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m, Name: name + " " + m})
	}
	a, err := store.SaveAccount(context.Background(), models.SandboxSetup(), 0, in)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustApp(t *testing.T, store *models.Store, log *slog.Logger) *fiber.App {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: log, Store: store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour},
		Logins:   models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// client keeps cookies across requests, like a browser.
type client struct {
	t       *testing.T
	app     *fiber.App
	cookies map[string]string
	csrf    string
}

func newClient(t *testing.T, app *fiber.App) *client {
	return &client{t: t, app: app, cookies: map[string]string{}}
}

// clone returns a client with a copy of c's cookies and token: a client is
// not safe for concurrent use, so each goroutine of a test takes its own.
func (c *client) clone() *client {
	return &client{t: c.t, app: c.app, cookies: maps.Clone(c.cookies), csrf: c.csrf}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if m := csrfRe.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	return resp, body
}

func (c *client) get(path string) (*http.Response, string) {
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) login(email, password string) *http.Response {
	c.get("/login")
	resp, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {email}, "password": {password}})
	return resp
}

func TestLoginWrongPasswordIsRefused(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	resp := c.login("fin@example.com", "not the password")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if _, ok := c.cookies["ksd_session"]; ok {
		t.Errorf("a session cookie was set for a wrong password")
	}
	resp, _ = c.get("/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("GET / without session = %d %s, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginAndBackToPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.get("/login?next=%2Faccount%2Fpassword")
	resp, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {"FIN@example.com"}, "password": {testPassword}, "next": {"/account/password"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/password" {
		t.Fatalf("login = %d %q, want 303 to /account/password", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = c.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/m/mch35000" {
		t.Fatalf("home = %d %q, want 303 to the person's only mid", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/m/mch35000")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="dashboard-title"`) {
		t.Fatalf("dashboard = %d", resp.StatusCode)
	}
	if !strings.Contains(body, `data-testid="mid-row-mch35000"`) || strings.Contains(body, "mch35001") {
		t.Errorf("dashboard does not list exactly the person's mid")
	}
}

func TestLoginRejectsOpenRedirect(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		c := newClient(t, e.app)
		c.get("/login")
		resp, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {"fin@example.com"}, "password": {testPassword}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, loc)
		}
	}
}

func TestPostWithoutCSRFTokenIsRejected(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.get("/login")
	// Valid credentials but no token: refused, and no session starts.
	resp, body := c.post("/login", url.Values{"email": {"fin@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", resp.StatusCode)
	}
	if !strings.Contains(body, "expired") {
		t.Errorf("body does not explain the refusal")
	}
	if _, ok := c.cookies["ksd_session"]; ok {
		t.Errorf("session started without a CSRF token")
	}
	// A token from another browser (another seed) is refused too.
	other := newClient(t, e.app)
	other.get("/login")
	resp, _ = c.post("/login", url.Values{"csrf": {other.csrf}, "email": {"fin@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign token: status = %d, want 403", resp.StatusCode)
	}
	// Signed in, a logout without token is refused and the session survives.
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	resp, _ = c.post("/logout", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without token = %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("session ended by a forged logout: %d", resp.StatusCode)
	}
	// htmx sends the token as a header: accepted.
	req := httptest.NewRequest(http.MethodPost, "/logout", nil)
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("HX-Request", "true")
	resp, _ = c.do(req)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx logout = %d %q, want 204 + HX-Redirect /login", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
}

func TestCrossOriginPostIsRejected(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.get("/login")
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"csrf": {c.csrf}, "email": {"fin@example.com"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
}

func TestLoginThrottlingPerAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	for i := 0; i < models.DefaultLoginPolicy.PerAccount; i++ {
		if resp := c.login("fin@example.com", "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i, resp.StatusCode)
		}
	}
	// Now even the right password is refused until the window passes.
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures = %d, want 429", models.DefaultLoginPolicy.PerAccount, resp.StatusCode)
	}
	e.store.SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window = %d, want 303", resp.StatusCode)
	}
}

func TestLoginThrottlingPerIP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	for i := 0; i < models.DefaultLoginPolicy.PerIP; i++ {
		c.login("nobody"+string(rune('a'+i))+"@example.com", "wrong")
	}
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures from one IP = %d, want 429", models.DefaultLoginPolicy.PerIP, resp.StatusCode)
	}
}

// The current password asked by the password form is throttled like a
// sign-in: a session left open in someone else's hands cannot be used to
// guess it (and then change it).
func TestPasswordChangeThrottlesTheCurrentPassword(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	const next = "another long password"
	change := func(current string) *http.Response {
		c.get("/account/password")
		resp, _ := c.post("/account/password", url.Values{"csrf": {c.csrf}, "current": {current}, "new": {next}, "confirm": {next}})
		return resp
	}
	for i := 0; i < models.DefaultLoginPolicy.PerAccount; i++ {
		if resp := change("guess " + strconv.Itoa(i)); resp.StatusCode != http.StatusOK {
			t.Fatalf("wrong current password %d = %d, want 200", i, resp.StatusCode)
		}
	}
	if resp := change(testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right current password after %d wrong ones = %d, want 429", models.DefaultLoginPolicy.PerAccount, resp.StatusCode)
	}
	if u, err := e.store.FindUser(context.Background(), e.user.ID); err != nil || !u.CheckPassword(testPassword) {
		t.Errorf("the password changed while throttled (err %v)", err)
	}
	e.store.SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
	if resp := change(testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window = %d, want 303", resp.StatusCode)
	}
}

// Signing out removes the session cookie from the browser: the deletion
// carries the cookie's Path=/ and, behind https, Secure (a browser ignores
// the deletion of a __Host- cookie without them, and applies one without
// Path=/ to the request's directory only).
func TestSignOutDeletesTheSessionCookie(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), HTTPS: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour},
		Logins:   models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	const name = "__Host-ksd_session"
	deletion := func(resp *http.Response) *http.Cookie {
		for _, ck := range resp.Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		return nil
	}
	check := func(what string, resp *http.Response) {
		t.Helper()
		ck := deletion(resp)
		switch {
		case ck == nil:
			t.Errorf("%s: no Set-Cookie for %s", what, name)
		case ck.Value != "" || ck.Expires.After(time.Now()):
			t.Errorf("%s: %s is not deleted: %q expires %v", what, name, ck.Value, ck.Expires)
		case ck.Path != "/" || !ck.Secure:
			t.Errorf("%s: deletion has Path=%q Secure=%v, want Path=/ and Secure", what, ck.Path, ck.Secure)
		}
	}
	c := newClient(t, app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	token := c.cookies[name]
	c.get("/account/security")
	resp, _ := c.post("/logout", url.Values{"csrf": {c.csrf}})
	check("logout", resp)

	// A browser still sending a cookie of an ended session is told to drop it.
	c.cookies[name] = token
	resp, _ = c.get("/m/mch35000")
	check("ended session", resp)

	// Revoking the current session on the security page signs out too.
	c.login("fin@example.com", testPassword)
	_, body := c.get("/account/security")
	m := regexp.MustCompile(`name="session" value="([0-9a-f]{16})"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no session on the security page")
	}
	resp, _ = c.post("/account/security/sessions/revoke", url.Values{"csrf": {c.csrf}, "session": {m[1]}})
	check("revoke current session", resp)
}

func TestSessionSurvivesAnotherReplicaAndTimesOut(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.login("fin@example.com", testPassword)
	// A second app over the same database (another replica, or a restart)
	// knows the session.
	c.app = mustApp(t, e.store, slog.New(slog.DiscardHandler))
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Fatalf("replica: GET /m/mch35000 = %d, want 200", resp.StatusCode)
	}
	e.store.SetClock(func() time.Time { return time.Now().Add(31 * time.Minute) })
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes GET / = %d, want 303 to login", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	resp, body := c.get("/login")
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("nosniff = %q", got)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("Referrer-Policy = %q", got)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(body) || strings.Contains(body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Errorf("page has inline script or event handlers")
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id")
	}
}

func TestStaticAssetsAreCachedForever(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	_, body := c.get("/login")
	m := regexp.MustCompile(`src="(/static/js/htmx\.min\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("layout does not reference a versioned htmx")
	}
	resp, js := c.get(m[1])
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || len(js) < 1000 {
		t.Errorf("htmx = %d %q (%d bytes)", resp.StatusCode, resp.Header.Get("Cache-Control"), len(js))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	if resp, _ := c.get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	if resp, _ := c.get("/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("readyz = %d", resp.StatusCode)
	}
	e.store.Close()
	if resp, _ := c.get("/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed database = %d, want 503", resp.StatusCode)
	}
}

func TestUnknownPageIs404WithPage(t *testing.T) {
	e := newTestEnv(t)
	c := newClient(t, e.app)
	if resp, _ := c.get("/no/such/page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("signed out: status = %d, want 404", resp.StatusCode)
	}
	c.login("fin@example.com", testPassword)
	resp, body := c.get("/no/such/page")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `data-testid="error"`) {
		t.Errorf("status = %d; body has error partial: %v", resp.StatusCode, strings.Contains(body, `data-testid="error"`))
	}
}

func TestPasswordsNeverLogged(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.login("fin@example.com", testPassword)
	c.login("fin@example.com", "another secret pw")
	for _, secret := range []string{testPassword, "another secret pw", c.cookies["ksd_session"]} {
		if secret != "" && strings.Contains(e.logs.String(), secret) {
			t.Errorf("log contains a secret")
		}
	}
}

// A password typed into the email field does not end up in the audit log,
// and signed-in pages are not cached.
func TestFailedLoginAuditAndNoStore(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.login("my secret pw 123", "whatever")
	entries, err := e.store.AuditLog(context.Background(), models.AuditFilter{Action: models.AuditLoginFailed})
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries = %d, %v", len(entries), err)
	}
	if strings.Contains(entries[0].ActorEmail+entries[0].Target, "secret") {
		t.Errorf("audit keeps what was typed as the email: %q", entries[0].ActorEmail)
	}
	c.login("fin@example.com", testPassword)
	resp, _ := c.get("/m/mch35000")
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}
