package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

// postLang submits the footer's language form from the page at referer.
func postLang(c *client, to, csrf, referer string) (*http.Response, string) {
	c.t.Helper()
	form := url.Values{"to": {to}}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	req := httptest.NewRequest(http.MethodPost, "/lang", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	return c.do(req)
}

// languageOf reads a person's stored language choice.
func languageOf(t *testing.T, e *testEnv, id int64) string {
	t.Helper()
	u, err := e.store.FindUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Language
}

// The language switch writes the person's record, so it is a POST behind
// the CSRF check: without the token nothing changes, and GET /lang is gone.
func TestLanguageSwitchIsACSRFCheckedPost(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	_, body := c.get("/m/mch35000")
	if !strings.Contains(body, `<form method="post" action="/lang"`) || !strings.Contains(body, `name="to" value="th"`) {
		t.Fatal("the page has no language form")
	}

	// No token: refused, nothing saved.
	if resp, _ := postLang(c, "th", "", "http://example.com/m/mch35000"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /lang without token = %d, want 403", resp.StatusCode)
	}
	if got := languageOf(t, e, e.user.ID); got != "" {
		t.Errorf("language after a refused switch = %q, want unchanged (empty)", got)
	}
	if _, body := c.get("/m/mch35000"); !strings.Contains(body, `<html lang="en">`) {
		t.Errorf("page is no longer English after a refused switch")
	}

	// With the token: saved, back to the page it came from.
	resp, _ := postLang(c, "th", c.csrf, "http://example.com/m/mch35000?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/m/mch35000?x=1" {
		t.Fatalf("POST /lang = %d %q, want 303 to /m/mch35000?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := languageOf(t, e, e.user.ID); got != "th" {
		t.Errorf("stored language = %q, want th", got)
	}
	if _, body := c.get("/m/mch35000"); !strings.Contains(body, `<html lang="th">`) {
		t.Errorf("next page is not Thai")
	}

	// GET /lang is no route: it answers no 200 and changes nothing.
	for _, path := range []string{"/lang?to=en", "/lang"} {
		if resp, _ := c.get(path); resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusSeeOther {
			t.Errorf("GET %s = %d, want no route", path, resp.StatusCode)
		}
	}
	if got := languageOf(t, e, e.user.ID); got != "th" {
		t.Errorf("stored language after GET /lang = %q, want th", got)
	}

	// Another site's page as Referer: back home, not there.
	resp, _ = postLang(c, "en", c.csrf, "https://evil.example/phish")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("foreign Referer: %d %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := languageOf(t, e, e.user.ID); got != "en" {
		t.Errorf("stored language = %q, want en", got)
	}
}

// Signed out, the sign-in page carries the language form and its token: the
// choice goes into the lang cookie.
func TestLanguageSwitchSignedOut(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	_, body := c.get("/login")
	if c.csrf == "" || !strings.Contains(body, `action="/lang"`) {
		t.Fatal("the sign-in page has no language form with a CSRF token")
	}
	if resp, _ := postLang(c, "th", "", "http://example.com/login"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /lang without token = %d, want 403", resp.StatusCode)
	}
	if _, ok := c.cookies["lang"]; ok {
		t.Errorf("lang cookie set by a refused switch")
	}
	resp, _ := postLang(c, "th", c.csrf, "http://example.com/login")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("POST /lang = %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c.cookies["lang"] != "th" {
		t.Errorf("lang cookie = %q, want th", c.cookies["lang"])
	}
	if _, body := c.get("/login"); !strings.Contains(body, `<html lang="th">`) {
		t.Errorf("sign-in page is not Thai after the switch")
	}
}

// A GET of a mid's page from another site (a link, a redirect, an image)
// still shows the page, but writes neither the person's last mid nor a
// mid_switch audit entry; the person's own navigation does.
func TestMidSwitchIsRememberedOnlyForOwnNavigation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := mustSignedIn(t, e, models.NewUser{Email: "two@example.com", Password: testPassword, Role: models.RoleFinance,
		Mids: []string{"mch35000", "mch35001"}})
	u, err := e.store.FindUserByEmail(context.Background(), "two@example.com")
	if err != nil {
		t.Fatal(err)
	}
	switches := func(mid string) int {
		n := 0
		for _, a := range auditOf(t, e.store, models.AuditMidSwitch) {
			if a.ActorEmail == "two@example.com" && a.Target == mid {
				n++
			}
		}
		return n
	}
	lastMid := func() string {
		got, err := e.store.FindUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastMid
	}
	visit := func(mid, site string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/m/"+mid, nil)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		if resp, _ := c.do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /m/%s (Sec-Fetch-Site %q) = %d, want 200", mid, site, resp.StatusCode)
		}
	}

	before := lastMid()
	for _, site := range []string{"cross-site", "same-site"} {
		for _, mid := range []string{"mch35000", "mch35001", "all"} {
			if mid == before {
				continue
			}
			visit(mid, site)
			if n := switches(mid); n != 0 {
				t.Errorf("%s GET /m/%s wrote %d mid_switch entries, want 0", site, mid, n)
			}
			if got := lastMid(); got != before {
				t.Errorf("%s GET /m/%s changed last_mid %q to %q", site, mid, before, got)
			}
		}
	}

	// The person's own navigations: same-origin, typed ("none"), and clients
	// that send no Fetch Metadata.
	for _, step := range []struct{ mid, site string }{
		{"mch35001", "same-origin"}, {"mch35000", "none"}, {"all", ""},
	} {
		n := switches(step.mid)
		visit(step.mid, step.site)
		if got := switches(step.mid); got != n+1 {
			t.Errorf("Sec-Fetch-Site %q GET /m/%s: mid_switch entries %d -> %d, want one more", step.site, step.mid, n, got)
		}
		if got := lastMid(); got != step.mid {
			t.Errorf("Sec-Fetch-Site %q GET /m/%s: last_mid = %q", step.site, step.mid, got)
		}
	}
}
