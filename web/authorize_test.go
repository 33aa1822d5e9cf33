package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// infrastructure routes are outside the permission matrix on purpose.
func isInfrastructure(path string) bool {
	return path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/static") ||
		strings.HasPrefix(path, "/sandbox") || strings.HasPrefix(path, "/hooks/")
}

// Every route the app serves has a row in the route table: a route added
// with app.Get (bypassing the table, so unguarded) fails here.
func TestEveryRouteIsInTheTable(t *testing.T) {
	e := newTestEnv(t)
	rules := RouteTable(e.app)
	if len(rules) < 5 {
		t.Fatalf("route table has %d rules", len(rules))
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.Method+" "+r.Path] = true
	}
	for _, rt := range e.app.GetRoutes(true) {
		if rt.Method == fiber.MethodHead || isInfrastructure(rt.Path) || rt.Path == "/" && len(rt.Handlers) == 0 {
			continue
		}
		if !known[rt.Method+" "+rt.Path] {
			t.Errorf("%s %s is served but has no entry in the route table", rt.Method, rt.Path)
		}
	}
}

var paramRe = regexp.MustCompile(`:[a-z_]+`)

// TestRouteRoleMidMatrix calls every route as every role, on an own mid, a
// foreign mid and /m/all, and checks the answer against the permission
// matrix: foreign mids are 404, missing actions 403, the rest reach the
// handler.
func TestRouteRoleMidMatrix(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	mustAccount(t, e.store, "Other", "mch46000")
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc, ExposeAuthz: true,
		Sessions: models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour}, Logins: models.LoginPolicy{Window: time.Minute, PerAccount: 100, PerIP: 1000},
	}})
	if err != nil {
		t.Fatal(err)
	}
	type person struct {
		role   string
		client *client
	}
	var people []person
	for _, role := range models.Roles {
		n := models.NewUser{Email: role + "@example.com", Password: testPassword, Role: role}
		if role != models.RoleOwner {
			n.Mids = []string{"mch35000"}
		}
		if _, err := e.store.CreateUser(ctx, models.CommandLine(), n); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, app)
		if resp := c.login(n.Email, testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %s = %d", role, resp.StatusCode)
		}
		people = append(people, person{role, c})
	}
	anon := newClient(t, app)
	anon.get("/login")

	checked := 0
	for _, rule := range RouteTable(app) {
		targets := []string{""}
		if rule.Kind == kindMid {
			targets = []string{"own", "foreign", "all"}
		}
		for _, target := range targets {
			mid := map[string]string{"own": "mch35000", "foreign": "mch46000", "all": "all"}[target]
			path := strings.Replace(rule.Path, ":mid", mid, 1)
			path = paramRe.ReplaceAllString(path, "1")

			// Signed out: every guarded route sends to the sign-in page.
			if rule.Kind != kindPublic {
				resp, _ := anon.do(request(rule.Method, path, anon.csrf))
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
					t.Errorf("signed out %s %s = %d %q, want 303 to /login", rule.Method, path, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			if rule.Kind != kindGlobal && rule.Kind != kindMid {
				continue
			}
			for _, p := range people {
				want := expectedStatus(rule, p.role, target)
				resp, _ := p.client.do(request(rule.Method, path, p.client.csrf))
				got := resp.StatusCode
				if resp.Header.Get("X-Ksd-Authz") == "ok" {
					got = 0 // reached the handler
				}
				if got != want {
					t.Errorf("%s %s as %s (%s mid) = %d (authz %q), want %d (0 = reaches the handler)",
						rule.Method, path, p.role, target, resp.StatusCode, resp.Header.Get("X-Ksd-Authz"), want)
				}
				checked++
			}
		}
	}
	t.Logf("checked %d route x role x mid combinations", checked)
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// expectedStatus is the matrix's answer: 0 when the handler is reached.
func expectedStatus(rule Rule, role, target string) int {
	isOwner := role == models.RoleOwner
	switch rule.Kind {
	case kindGlobal:
		if rule.Action == models.ActManageAccounts && !isOwner {
			return http.StatusForbidden
		}
		if isOwner || models.RoleCan(role, rule.Action) {
			return 0
		}
		return http.StatusForbidden
	case kindMid:
		switch target {
		case "foreign":
			if isOwner {
				return 0 // owners hold every mid of every account
			}
			return http.StatusNotFound
		case "all":
			if !rule.AllowAll {
				return http.StatusNotFound
			}
		}
		if models.RoleCan(role, rule.Action) {
			return 0
		}
		return http.StatusForbidden
	}
	return 0
}

func request(method, path, csrf string) *http.Request {
	req := httptest.NewRequest(method, path, nil)
	if method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return req
}

// A mid that does not exist is as unknown to an owner as a foreign one is
// to anybody else: 404.
func TestUnknownMidIs404ForOwner(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	if _, err := e.store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "o@example.com", Password: testPassword, Role: models.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.app)
	c.login("o@example.com", testPassword)
	if resp, _ := c.get("/m/mch99999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.get("/m/mch35001"); resp.StatusCode != http.StatusOK {
		t.Errorf("owner on an existing mid = %d, want 200", resp.StatusCode)
	}
}
