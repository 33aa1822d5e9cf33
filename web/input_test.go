package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models"
)

// countRows counts what a bad request must not have written.
func countRows(t *testing.T, e *testEnv) (audit, attempts int) {
	t.Helper()
	es, err := e.store.AuditLog(context.Background(), models.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM login_attempts").Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	return len(es), attempts
}

// Bytes Postgres cannot store, or values over their bound, in a query, a
// form or the User-Agent are refused at the boundary with a clear 400 in
// the reader's language, and change nothing (no audit entry, no sign-in
// attempt, no session).
func TestBadBytesAreRefusedAtTheBoundary(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c := newClient(t, e.app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	anon := newClient(t, e.app)
	anon.get("/login")
	login := func(email, ua string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"csrf": {anon.csrf},
			"email": {email}, "password": {"not the password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		return req
	}
	get := func(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }
	tests := []struct {
		name string
		who  *client
		req  *http.Request
	}{
		{"NUL in the search box", c, get("/m/mch35000/search?q=DEMO%00")},
		{"not UTF-8 in the search box", c, get("/m/mch35000/search?q=%FF%FE")},
		{"NUL in an orders filter", c, get("/m/mch35000/orders?q=%00&status=paid")},
		{"NUL in a filter's name", c, get("/m/mch35000/orders?st%00atus=paid")},
		{"a search box of 3,000 characters", c, get("/m/mch35000/orders?q=" + strings.Repeat("9", 3000))},
		{"NUL in the sign-in email", anon, login("fin@example.com\x00", "")},
		{"not UTF-8 in the sign-in email", anon, login("fin\xff@example.com", "")},
		{"a sign-in email of 20,000 characters", anon, login(strings.Repeat("a", 20000)+"@example.com", "")},
		{"not UTF-8 in the User-Agent", anon, login("fin@example.com", "Mozilla/5.0 \xff\xfe")},
		{"NUL in the User-Agent of a page", c, func() *http.Request { r := get("/m/mch35000/orders"); r.Header.Set("User-Agent", "a\x00b"); return r }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			audit, attempts := countRows(t, e)
			resp, body := tt.who.do(tt.req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", resp.StatusCode)
			}
			if !strings.Contains(body, "cannot be used") {
				t.Errorf("the page does not say what is wrong:\n%.600s", body)
			}
			if a, n := countRows(t, e); a != audit || n != attempts {
				t.Errorf("audit entries %d -> %d, sign-in attempts %d -> %d: a refused request wrote something", audit, a, attempts, n)
			}
		})
	}
	// In Thai too.
	req := get("/m/mch35000/search?q=%00")
	req.Header.Set("Accept-Language", "th")
	if resp, body := newClient(t, e.app).do(req); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ใช้ไม่ได้") {
		t.Errorf("Thai: status %d, body lacks the Thai message", resp.StatusCode)
	}
	// The same pages answer normally with good input.
	if resp, _ := c.get("/m/mch35000/orders?q=DEMO&status=paid"); resp.StatusCode != http.StatusOK {
		t.Errorf("a good filter = %d, want 200", resp.StatusCode)
	}
}
