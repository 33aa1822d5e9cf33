package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// captured is one response the browser received, with the phase of the
// flow it arrived in (some secrets are shown once, on purpose, in one
// phase: the TOTP key while setting it up, the recovery codes once).
type captured struct {
	what  string // "GET 200 http://.../path"
	text  string // headers (but Set-Cookie) and body
	phase int32
}

// Phases of the flow.
const (
	phaseBefore2FA int32 = iota // until 2FA is set up: its key is on the page
	phaseCodes                  // the recovery codes are on the page
	phaseAfter                  // nothing secret on any page
)

// Acceptance: no secret in any log line or page. The real program (sandbox
// mode, debug log) is driven in Chromium through a whole visit: a wrong
// then a right password, the dashboard, the orders of both APIs, an order
// and its refresh, the search, the accounts and their connection test, the
// people, the audit log, two-factor set-up, sign out, a two-step sign-in
// and sign out. Every response body (and its headers, but Set-Cookie) and
// every line the program wrote are searched for the demo accounts' Ksher
// token and each line of their private keys (and the simulated Ksher's),
// SECRET_KEY, each session cookie and the CSRF seed cookie, the passwords
// typed, the TOTP key and the recovery codes (each allowed on the one page
// that shows it, on purpose). Two planted strings, one echoed by a page
// and one logged, must be found by the same search, so the capture is
// real.
func TestE2ENoSecretInAnyLogLineOrPage(t *testing.T) {
	ctx := context.Background()
	secretKey := "e2e-secret-key-" + randomHex(t, 16)
	const email = "secrets-owner@example.com"
	password, wrongPassword := "owner pw "+randomHex(t, 6), "wrong pw "+randomHex(t, 6)
	ctrlBody, ctrlLog := "CTRLBODY"+randomHex(t, 6), "CTRLLOG"+randomHex(t, 6)

	dsn := pgtest.NewDatabase(t)
	store, err := models.Open(ctx, dsn, nil)
	must(t, err)
	t.Cleanup(func() { store.Close() })
	_, err = store.Migrate(ctx, migrations.FS)
	must(t, err)
	store.SetSecretKey([]byte(secretKey))
	_, err = store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: email, Password: password, Role: models.RoleOwner})
	must(t, err)
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEY": secretKey, "SANDBOX": "on", "SYNC_INTERVAL": "off", "LOG_LEVEL": "debug"}
	app := startApp(t, env)

	page := newPage(t)
	var (
		mu       sync.Mutex
		corpus   []captured
		phase    atomic.Int32
		inFlight sync.WaitGroup
	)
	// Bodies are read off the event goroutine: reading one inside the
	// handler would wait on the very goroutine that delivers it.
	page.OnResponse(func(r playwright.Response) {
		if !strings.HasPrefix(r.URL(), app.URL) {
			return
		}
		p := phase.Load()
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			var b strings.Builder
			for k, v := range r.Headers() {
				if k != "set-cookie" {
					b.WriteString(k + ": " + v + "\n")
				}
			}
			if body, err := r.Body(); err == nil {
				b.Write(body)
			}
			mu.Lock()
			corpus = append(corpus, captured{fmt.Sprintf("%s %d %s", r.Request().Method(), r.Status(), r.URL()), b.String(), p})
			mu.Unlock()
		}()
	})
	var sessionCookies []string
	noteCookies := func() {
		cs, err := page.Context().Cookies()
		must(t, err)
		for _, c := range cs {
			if c.Name == "ksd_session" || c.Name == "ksd_csrf" {
				sessionCookies = append(sessionCookies, c.Name+"="+c.Value)
			}
		}
	}
	visit := func(path string) {
		t.Helper()
		_, err := page.Goto(app.URL + path)
		must(t, err)
	}

	// Sign in: a wrong password first.
	login(t, page, app.URL, email, wrongPassword)
	expectVisible(t, page.GetByTestId("login-error"))
	login(t, page, app.URL, email, password)
	expectVisible(t, page.GetByTestId("dashboard-title"))
	noteCookies()

	// Orders of both APIs, one order of each and its refresh; the search.
	refreshed := 0
	for _, mid := range []string{"mch35000", "mch35618"} {
		visit("/m/" + mid + "/orders")
		expectVisible(t, page.GetByTestId("orders-table"))
		must(t, page.GetByTestId("order-link").First().Click())
		expectVisible(t, page.GetByTestId("order-title"))
		if btn := page.GetByTestId("refresh"); visibleNow(btn) {
			must(t, btn.Click())
			expectVisible(t, page.GetByTestId("refresh-notice"))
			refreshed++
		}
	}
	must(t, page.GetByTestId("search-input").Fill(ctrlBody))
	must(t, page.GetByTestId("search-input").Press("Enter"))
	expectVisible(t, page.GetByTestId("search-title"))

	// The accounts, each with its connection test; people; the audit log.
	visit("/accounts")
	links, err := page.GetByTestId("account-link").All()
	must(t, err)
	var accountURLs []string
	for _, l := range links {
		href, err := l.GetAttribute("href")
		must(t, err)
		accountURLs = append(accountURLs, href)
	}
	if len(accountURLs) < 2 {
		t.Fatalf("%d accounts listed, want the two demo accounts", len(accountURLs))
	}
	for _, u := range accountURLs {
		visit(u)
		must(t, page.GetByTestId("account-test-button").Click())
		expectVisible(t, page.GetByTestId("account-test-result"))
	}
	visit("/people")
	expectVisible(t, page.GetByTestId("people-list"))
	visit("/audit")
	expectVisible(t, page.GetByTestId("audit-title"))
	visit("/no-such-page-" + ctrlLog)

	// Two-factor set-up: its key is on the page until it is on.
	visit("/account/security")
	must(t, page.GetByTestId("totp-begin").Click())
	expectVisible(t, page.GetByTestId("totp-qr"))
	secret, err := page.GetByTestId("totp-secret").TextContent()
	must(t, err)
	secret = spaceRe.ReplaceAllString(secret, "")
	code, err := totp.GenerateCode(secret, time.Now())
	must(t, err)
	must(t, page.GetByTestId("totp-code").Fill(code))
	must(t, page.GetByTestId("totp-password").Fill(password))
	phase.Store(phaseCodes)
	must(t, page.GetByTestId("totp-confirm").Click())
	expectVisible(t, page.GetByTestId("totp-enabled"))
	codes, err := page.GetByTestId("recovery-code").AllTextContents()
	must(t, err)
	if len(codes) == 0 {
		t.Fatal("no recovery codes shown")
	}
	phase.Store(phaseAfter)
	must(t, page.GetByTestId("codes-done").Click())
	expectVisible(t, page.GetByTestId("recovery-left"))

	// Sign out, sign in with the password and a recovery code, sign out.
	must(t, page.GetByTestId("user-menu").Click())
	must(t, page.GetByTestId("logout").Click())
	expectURL(t, page, `/login$`)
	login(t, page, app.URL, email, password)
	must(t, page.GetByTestId("login-code").Fill(strings.TrimSpace(codes[0])))
	must(t, page.GetByTestId("login-code-submit").Click())
	expectVisible(t, page.GetByTestId("dashboard-title"))
	noteCookies()
	visit("/account/security")
	expectVisible(t, page.GetByTestId("session-current"))
	must(t, page.GetByTestId("user-menu").Click())
	must(t, page.GetByTestId("logout").Click())
	expectURL(t, page, `/login$`)
	inFlight.Wait()
	app.Stop(t) // the log is complete
	logs := app.Stderr.String() + app.Stdout.String()

	// What to look for: what the program really holds.
	needles := map[string]string{"SECRET_KEY": secretKey, "password": password, "wrong password": wrongPassword}
	for i, c := range sessionCookies {
		needles[fmt.Sprintf("cookie %d (%s)", i, strings.SplitN(c, "=", 2)[0])] = strings.SplitN(c, "=", 2)[1]
	}
	dir := filepath.Join(env["DATA_DIR"], "sandbox")
	for _, f := range []string{"merchant_key.pem", "ksher_key.pem", "vip_token"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		must(t, err)
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				needles[fmt.Sprintf("%s line %d", f, i+1)] = line
			}
		}
	}
	stored := storedSecrets(t, store)
	if !stored[needles["vip_token line 1"]] || !stored[needles["merchant_key.pem line 2"]] {
		t.Fatal("the demo accounts do not hold the keys read from DATA_DIR: the search would prove nothing")
	}
	shownOnce := map[string]int32{"TOTP key": phaseBefore2FA}
	needles["TOTP key"] = secret
	for i, c := range codes {
		name := fmt.Sprintf("recovery code %d", i+1)
		needles[name], shownOnce[name] = strings.TrimSpace(c), phaseCodes
	}

	// The capture is real: the same search finds the planted strings.
	mu.Lock()
	defer mu.Unlock()
	if where := findIn(corpus, logs, ctrlBody, -1); !containsPrefix(where, "page ") {
		t.Errorf("the planted page string was not found in %d captured responses: the capture misses pages", len(corpus))
	}
	if where := findIn(corpus, logs, ctrlLog, -1); !containsPrefix(where, "log line ") {
		t.Errorf("the planted log string was not found in %d bytes of log: the capture misses the log", len(logs))
	}
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "ksher request") {
		t.Error("the log has no debug lines of the gateway: the flow did not exercise what it should")
	}
	names := make([]string, 0, len(needles))
	for n := range needles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		allowed, ok := shownOnce[name]
		if !ok {
			allowed = -1
		}
		for _, where := range findIn(corpus, logs, needles[name], allowed) {
			t.Errorf("%s found in %s", name, where)
		}
	}
	t.Logf("searched %d responses and %d bytes of log for %d secrets (%d orders refreshed)", len(corpus), len(logs), len(needles), refreshed)
}

// findIn returns where needle occurs: responses (but those of phase
// allowed) and log lines, each named with its location.
func findIn(corpus []captured, logs, needle string, allowed int32) []string {
	var where []string
	for _, c := range corpus {
		if c.phase != allowed && strings.Contains(c.text, needle) {
			where = append(where, "page "+c.what)
		}
	}
	for i, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, needle) {
			where = append(where, fmt.Sprintf("log line %d: %.120s", i+1, line))
		}
	}
	return where
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// storedSecrets is every line of every stored credential of every account.
func storedSecrets(t *testing.T, store *models.Store) map[string]bool {
	t.Helper()
	as, err := store.Accounts(context.Background())
	must(t, err)
	out := map[string]bool{}
	for i := range as {
		c, err := store.AccountCredentials(&as[i])
		must(t, err)
		out[c.Token] = true
		for _, k := range c.PrivateKeys {
			for _, line := range strings.Split(k, "\n") {
				out[strings.TrimSpace(line)] = true
			}
		}
	}
	return out
}

// visibleNow reports whether l is on the page and visible, without waiting.
func visibleNow(l playwright.Locator) bool {
	n, err := l.Count()
	if err != nil || n == 0 {
		return false
	}
	ok, err := l.First().IsVisible()
	return err == nil && ok
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
