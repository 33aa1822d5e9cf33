package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// A session in use outlives an idle timeout shorter than a minute: activity
// is recorded every half idle timeout, not only once a minute.
func TestSessionShortIdleTimeoutKeepsActiveSessionAlive(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Location: loc,
		Sessions: models.SessionPolicy{Idle: 2 * time.Second, Absolute: 12 * time.Hour},
		Logins:   models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	c := newClient(t, app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	for i := 1; i <= 6; i++ {
		now = now.Add(1500 * time.Millisecond)
		if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d, %s after the last: GET /m/mch35000 = %d, want 200", i, 1500*time.Millisecond, resp.StatusCode)
		}
	}
	now = now.Add(2500 * time.Millisecond)
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 2.5 idle seconds GET /m/mch35000 = %d, want 303 to login", resp.StatusCode)
	}
}

// Signing in again in the same browser ends the browser's previous session,
// whoever it belonged to; another browser's session stays.
func TestSignInAgainEndsTheBrowsersPreviousSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	mustUser(t, e, "owner@example.com", models.RoleOwner)
	const cookie = "ksd_session"
	c := signedIn(t, e, "fin@example.com")
	first := c.cookies[cookie]
	other := signedIn(t, e, "fin@example.com")

	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in = %d", resp.StatusCode)
	}
	second := c.cookies[cookie]
	if second == "" || second == first {
		t.Fatalf("second sign-in set no new session cookie")
	}
	old := newClient(t, e.app)
	old.cookies[cookie] = first
	if resp, _ := old.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("first session after signing in again: GET = %d, want 303 to login", resp.StatusCode)
	}
	// Another person signing in in this browser ends fin's session too.
	if resp := c.login("owner@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's sign-in = %d", resp.StatusCode)
	}
	old.cookies[cookie] = second
	if resp, _ := old.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("fin's session after owner signed in in the same browser: GET = %d, want 303", resp.StatusCode)
	}
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("owner's new session: GET = %d, want 200", resp.StatusCode)
	}
	if resp, _ := other.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("the other browser's session: GET = %d, want 200", resp.StatusCode)
	}
	live, err := e.store.LiveSessions(ctx, e.user.ID, models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour})
	if err != nil || len(live) != 1 {
		t.Errorf("fin's live sessions = %d (%v), want 1 (the other browser's)", len(live), err)
	}
	ended := 0
	for _, a := range auditEntries(t, e, models.AuditLogin) {
		if details(t, a)["ended_previous_session"] == true {
			ended++
		}
	}
	if ended != 2 {
		t.Errorf("sign-ins audited as ending a previous session = %d, want 2", ended)
	}
}

// The code form's token completes one sign-in: posted again (from anywhere,
// with another good code) it is refused, no second session starts, and the
// code is not used up.
func TestTwoFactorSignInStepIsSingleUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	_, codes := enableTOTP(t, e, signedIn(t, e, "fin@example.com"), now)
	policy := models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	before, _ := e.store.LiveSessions(ctx, e.user.ID, policy)

	b := newClient(t, e.app)
	token := loginFirstStep(t, b, "fin@example.com")
	if resp, _ := b.post("/login/2fa", url.Values{"csrf": {b.csrf}, "token": {token}, "code": {codes[0]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use of the step = %d, want 303", resp.StatusCode)
	}
	if b.cookies["ksd_session"] == "" {
		t.Fatal("no session after the second factor")
	}
	replay := newClient(t, e.app)
	replay.get("/login")
	resp, body := replay.post("/login/2fa", url.Values{"csrf": {replay.csrf}, "token": {token}, "code": {codes[1]}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) {
		t.Errorf("second use of the step = %d, want 401 and the password form", resp.StatusCode)
	}
	if replay.cookies["ksd_session"] != "" {
		t.Error("the replayed step started a session")
	}
	if live, _ := e.store.LiveSessions(ctx, e.user.ID, policy); len(live) != len(before)+1 {
		t.Errorf("live sessions = %d, want %d (one sign-in)", len(live), len(before)+1)
	}
	if left, _ := e.store.RecoveryCodesLeft(ctx, e.user.ID); left != int64(len(codes)-1) {
		t.Errorf("recovery codes left = %d, want %d: the refused step used one up", left, len(codes)-1)
	}
	reused := false
	for _, a := range auditEntries(t, e, models.AuditLoginFailed) {
		reused = reused || details(t, a)["step_reused"] == true
	}
	if !reused {
		t.Error("the replayed step is not in the audit log")
	}
}
