package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

var (
	auditRowRe   = regexp.MustCompile(`data-testid="audit-row" data-id="(\d+)" data-action="([^"]*)" data-mid="([^"]*)"`)
	auditOlderRe = regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="audit-older"`)
)

// auditIDs returns the entry ids listed on an audit page, in order.
func auditIDs(tb testing.TB, body string) []int64 {
	tb.Helper()
	var ids []int64
	for _, m := range auditRowRe.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// mustAuditAt records an entry at the given instant.
func mustAuditAt(tb testing.TB, s *models.Store, at time.Time, email, action, target, mid string) int64 {
	tb.Helper()
	s.SetClock(func() time.Time { return at })
	defer s.SetClock(func() time.Time { return time.Now().UTC() })
	if err := s.Audit(context.Background(), models.Actor{Email: email, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"},
		action, target, mid, map[string]any{"n": target}); err != nil {
		tb.Fatal(err)
	}
	es, err := s.AuditLog(context.Background(), models.AuditFilter{Limit: 1})
	if err != nil || len(es) != 1 {
		tb.Fatalf("audit log: %v", err)
	}
	return es[0].ID
}

func TestAuditFilters(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	utc := func(s string) time.Time {
		at, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	// Bangkok is UTC+7: e1 is late on 1 March there, e2 just after
	// midnight on 2 March although both are 1 March in UTC.
	e1 := mustAuditAt(t, e.store, utc("2024-03-01 16:30"), "alice@example.com", models.AuditRefund, "t1", "mch35000")
	e2 := mustAuditAt(t, e.store, utc("2024-03-01 17:30"), "bob@example.com", models.AuditExport, "t2", "mch35001")
	e3 := mustAuditAt(t, e.store, utc("2024-03-02 10:00"), "alice@example.com", models.AuditExport, "t3", "mch35001")
	e4 := mustAuditAt(t, e.store, utc("2024-03-03 01:00"), "carol@example.com", models.AuditAccountUpdate, "t4", "")
	owner := MustOwner(t, e)

	only := func(ids []int64, keep ...int64) []int64 { // the ids among ours
		var out []int64
		for _, id := range ids {
			if slices.Contains([]int64{e1, e2, e3, e4}, id) && (len(keep) == 0 || slices.Contains(keep, id)) {
				out = append(out, id)
			}
		}
		return out
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{e4, e3, e2, e1}},
		{"who=ALICE", []int64{e3, e1}},
		{"action=export", []int64{e3, e2}},
		{"mid=mch35001", []int64{e3, e2}},
		{"who=alice&action=export", []int64{e3}},
		{"from=2024-03-02&to=2024-03-02", []int64{e3, e2}},
		{"from=2024-03-01&to=2024-03-01", []int64{e1}},
		{"from=2024-03-03", []int64{e4}},
		{"to=2024-03-01", []int64{e1}},
		{"action=no_such_action", []int64{e4, e3, e2, e1}}, // unknown actions are ignored
	}
	for _, tt := range tests {
		resp, body := owner.get("/audit?" + tt.query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /audit?%s = %d", tt.query, resp.StatusCode)
		}
		if got := only(auditIDs(t, body)); !slices.Equal(got, tt.want) {
			t.Errorf("/audit?%s lists %v, want %v", tt.query, got, tt.want)
		}
	}
	// Filters without matches are narrow: the owner's own sign-in is not
	// among "who=alice".
	_, body := owner.get("/audit?who=alice")
	if ids := auditIDs(t, body); len(ids) != 2 {
		t.Errorf("who=alice lists %d entries, want 2", len(ids))
	}
	// The row: time in the zone with the zone named, label, IP, short agent.
	_, body = owner.get("/audit?from=2024-03-01&to=2024-03-01")
	for _, want := range []string{">2024-03-01 23:30:00<", "Asia/Bangkok, +07", "alice@example.com", ">Refund<", "203.0.113.7",
		">Chrome 124 · Linux<", `title="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit`, "&#34;n&#34;: &#34;t1&#34;"} {
		if !strings.Contains(body, want) {
			t.Errorf("row lacks %q", want)
		}
	}
	// The filter state comes back in the form, so the URL is the state.
	_, body = owner.get("/audit?who=alice&action=export&mid=mch35001&from=2024-03-01&to=2024-03-02")
	for _, want := range []string{`name="who" value="alice"`, `value="export" selected`, `value="mch35001" selected`, `name="from" value="2024-03-01"`, `name="to" value="2024-03-02"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	// Long details fold away behind their start.
	long := strings.Repeat("x", 80)
	mustAuditAt(t, e.store, utc("2024-03-04 01:00"), "dave@example.com", models.AuditAccountTest, long, "")
	_, body = owner.get("/audit?who=dave")
	if !strings.Contains(body, "<details><summary><small>{&#34;n&#34;: &#34;xxx") || !strings.Contains(body, long+"&#34;}</small></details>") {
		t.Error("long details are not folded with the whole JSON inside")
	}
	// Bad days: the problem is shown, no entries.
	for _, q := range []string{"from=2024-13-45", "from=2024-03-02&to=2024-03-01"} {
		resp, body := owner.get("/audit?" + q)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="audit-errors"`) || len(auditIDs(t, body)) != 0 {
			t.Errorf("/audit?%s = %d, want the error and no entries", q, resp.StatusCode)
		}
	}
}

// A manager sees the entries of their own mids only, whatever they ask for.
func TestAuditManagerSeesOwnMidsOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	now := time.Now().UTC()
	own := mustAuditAt(t, e.store, now, "alice@example.com", models.AuditRefund, "t1", "mch35000")
	mustAuditAt(t, e.store, now, "bob@example.com", models.AuditRefund, "t2", "mch35001")
	mustAuditAt(t, e.store, now, "carol@example.com", models.AuditAccountUpdate, "t3", "")
	mgr := mustSignedIn(t, e, models.NewUser{Email: "mgr@example.com", Password: testPassword, Role: models.RoleManager, Mids: []string{"mch35000"}})
	for _, q := range []string{"", "mid=mch35001", "who=bob", "action=account_update"} {
		resp, body := mgr.get("/audit?" + q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("manager /audit?%s = %d", q, resp.StatusCode)
		}
		for _, m := range auditRowRe.FindAllStringSubmatch(body, -1) {
			if m[3] != "mch35000" {
				t.Errorf("manager /audit?%s shows entry %s of mid %q", q, m[1], m[3])
			}
		}
		if q == "" && !slices.Contains(auditIDs(t, body), own) {
			t.Errorf("manager does not see the entry of their own mid")
		}
		if strings.Contains(body, "bob@example.com") || strings.Contains(body, "carol@example.com") {
			t.Errorf("manager /audit?%s shows another mid's actor", q)
		}
	}
	_, body := mgr.get("/audit")
	if strings.Contains(body, `<option value="mch35001"`) || !strings.Contains(body, `<option value="mch35000"`) {
		t.Error("the mid filter offers other mids than the manager's")
	}
	fin := newClient(t, e.app)
	fin.login("fin@example.com", testPassword)
	if resp, _ := fin.get("/audit"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("finance /audit = %d, want 403", resp.StatusCode)
	}
}

func TestAuditKeysetPagesAndHTMX(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var all []int64
	for i := range 120 {
		all = append(all, mustAuditAt(t, e.store, base.Add(time.Duration(i)*time.Minute), "pager@example.com", models.AuditExport, "p"+strconv.Itoa(i), "mch35000"))
	}
	owner := MustOwner(t, e)
	var seen []int64
	next, pages := "/audit?who=pager", 0
	for next != "" {
		resp, body := owner.get(next)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", next, resp.StatusCode)
		}
		ids := auditIDs(t, body)
		if pages < 2 && len(ids) != 50 || pages == 2 && len(ids) != 20 {
			t.Errorf("page %d has %d entries", pages, len(ids))
		}
		if pages > 0 && !strings.Contains(body, `data-testid="audit-newest"`) {
			t.Errorf("page %d has no link to the newest entries", pages)
		}
		seen = append(seen, ids...)
		next = ""
		if m := auditOlderRe.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "who=pager") || !strings.Contains(next, "before=") {
				t.Errorf("older link %q lost the filter or the cursor", next)
			}
		}
		if pages++; pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	slices.Reverse(all)
	if !slices.Equal(seen, all) {
		t.Errorf("pages list %d entries (%v...), want all %d newest first, once each", len(seen), seen[:min(3, len(seen))], len(all))
	}

	// htmx asks for the table only; the answer varies on HX-Request.
	req := httptest.NewRequest(http.MethodGet, "/audit?who=pager", nil)
	req.Header.Set("HX-Request", "true")
	resp, body := owner.do(req)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="audit-results"`) {
		t.Errorf("htmx /audit = %d, whole page %v", resp.StatusCode, strings.Contains(body, "<html"))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary = %q, want HX-Request", resp.Header.Get("Vary"))
	}
}

// Every audited action has a label in every language.
func TestAuditActionLabels(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	owner := MustOwner(t, e)
	for _, lang := range []string{"en", "th"} {
		postLang(owner, lang, owner.csrf, "")
		_, body := owner.get("/audit")
		for _, a := range models.AuditActions {
			m := regexp.MustCompile(`<option value="` + a + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
			if m == nil {
				t.Errorf("%s: no option for %s", lang, a)
				continue
			}
			if m[1] == "" || strings.HasPrefix(m[1], "audit.action.") {
				t.Errorf("%s: %s is labelled %q", lang, a, m[1])
			}
		}
		if lang == "th" && !strings.Contains(body, "คืนเงิน") {
			t.Error("th: labels are not Thai")
		}
	}
}

// The database refuses to change or remove audit entries, whoever asks.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	id := mustAuditAt(t, store, time.Now().UTC(), "alice@example.com", models.AuditRefund, "t1", "mch35000")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	for _, stmt := range []string{
		"UPDATE audit_log SET action = 'login' WHERE id = " + strconv.FormatInt(id, 10),
		"UPDATE audit_log SET details = '{}'",
		"DELETE FROM audit_log WHERE id = " + strconv.FormatInt(id, 10),
		"DELETE FROM audit_log",
		"TRUNCATE audit_log",
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", stmt, err)
		}
	}
	es, err := store.AuditLog(ctx, models.AuditFilter{})
	if err != nil || len(es) != 1 || es[0].Action != models.AuditRefund || es[0].Target != "t1" {
		t.Errorf("entries after the attempts = %+v, %v", es, err)
	}
}
