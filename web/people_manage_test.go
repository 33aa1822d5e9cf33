package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/models"
)

func personURL(id int64) string { return "/people/" + strconv.FormatInt(id, 10) }

// A manager may not edit, disable, reset the password or two-factor
// sign-in of a peer manager (403) or an owner (404: hidden from managers);
// nothing changes. A support person on their mid they manage, but they
// give only roles below their own.
func TestManagerCannotManagePeerManagerOrOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	mustUser(t, e, "mgr@example.com", models.RoleManager, "mch35000")
	peer := mustUser(t, e, "peer@example.com", models.RoleManager, "mch35000")
	owner := mustUser(t, e, "owner@example.com", models.RoleOwner)
	sup := mustUser(t, e, "sup@example.com", models.RoleSupport, "mch35000")
	peerBrowser := signedIn(t, e, "peer@example.com")
	mgr := signedIn(t, e, "mgr@example.com")

	resp, body := mgr.get(personURL(peer.ID))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="person-readonly"`) {
		t.Errorf("peer's page = %d, read-only: %v", resp.StatusCode, strings.Contains(body, `data-testid="person-readonly"`))
	}
	for _, button := range []string{"person-submit", "person-disable", "person-enable", "person-reset", "person-totp-reset", "person-actions"} {
		if strings.Contains(body, `data-testid="`+button+`"`) {
			t.Errorf("peer's page offers %s", button)
		}
	}
	forms := map[string]url.Values{
		"":            {"name": {"Demoted"}, "role_mch35000": {"viewer"}},
		"/disable":    nil,
		"/password":   nil,
		"/totp/reset": nil,
	}
	for target, want := range map[*models.User]int{peer: http.StatusForbidden, owner: http.StatusNotFound} {
		for action, form := range forms {
			f := url.Values{"csrf": {mgr.csrf}}
			for k, v := range form {
				f[k] = v
			}
			resp, body := mgr.post(personURL(target.ID)+action, f)
			if resp.StatusCode != want {
				t.Errorf("POST %s%s (%s) = %d, want %d", personURL(target.ID), action, target.Email, resp.StatusCode, want)
			}
			if strings.Contains(body, `data-testid="one-time-password"`) {
				t.Errorf("a refused reset showed a password")
			}
		}
		u, err := e.store.FindUser(ctx, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "" || u.DisabledAt != nil || u.PasswordHash != target.PasswordHash || u.MustChangePassword || u.IsOwner != target.IsOwner {
			t.Errorf("refusals changed %s: %+v", target.Email, u)
		}
	}
	if ms, _ := e.store.Memberships(ctx, peer.ID); len(ms) != 1 || ms[0].Role != models.RoleManager {
		t.Errorf("refusals changed the peer's roles: %+v", ms)
	}
	if resp, _ := peerBrowser.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("refusals ended the peer's session: %d", resp.StatusCode)
	}
	for _, a := range []string{models.AuditRoleChange, models.AuditPersonUpdate, models.AuditPersonDisable, models.AuditPasswordReset, models.AuditTOTPReset} {
		if es := auditEntries(t, e, a); len(es) != 0 {
			t.Errorf("refusals were audited as %s: %+v", a, es)
		}
	}

	// The support person: the full form, without manager among the roles.
	supPath := personURL(sup.ID)
	resp, body = mgr.get(supPath)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="person-submit"`) || !strings.Contains(body, `data-testid="person-reset"`) {
		t.Fatalf("support's page = %d, editable: %v", resp.StatusCode, strings.Contains(body, `data-testid="person-submit"`))
	}
	if strings.Contains(body, `value="manager"`) || !strings.Contains(body, `value="finance"`) {
		t.Errorf("a manager is offered the manager role (or not finance)")
	}
	// Granting manager (or anything not below their own) is refused.
	n := userCount(t, e)
	resp, body = mgr.post(supPath, url.Values{"csrf": {mgr.csrf}, "name": {"Sup"}, "role_mch35000": {"manager"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "below your own") {
		t.Errorf("promoting to manager = %d, want 200 with the reason", resp.StatusCode)
	}
	for _, role := range []string{"manager", "owner"} {
		resp, _ = mgr.post("/people", url.Values{"csrf": {mgr.csrf}, "email": {"new@example.com"}, "role_mch35000": {role}})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("creating a %s = %d, want 200", role, resp.StatusCode)
		}
	}
	if ms, _ := e.store.Memberships(ctx, sup.ID); len(ms) != 1 || ms[0].Role != models.RoleSupport || userCount(t, e) != n {
		t.Errorf("refused grants changed something: %+v, people %d -> %d", ms, n, userCount(t, e))
	}
	// What is below them goes through.
	resp, _ = mgr.post(supPath, url.Values{"csrf": {mgr.csrf}, "name": {"Sup"}, "role_mch35000": {"viewer"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("support -> viewer = %d, want 303", resp.StatusCode)
	}
	if ms, _ := e.store.Memberships(ctx, sup.ID); len(ms) != 1 || ms[0].Role != models.RoleViewer {
		t.Errorf("roles after the update: %+v", ms)
	}
	resp, body = mgr.post(supPath+"/password", url.Values{"csrf": {mgr.csrf}})
	if resp.StatusCode != http.StatusOK || otpRe.FindStringSubmatch(body) == nil {
		t.Errorf("reset support's password = %d", resp.StatusCode)
	}
	if resp, _ := mgr.post(supPath+"/disable", url.Values{"csrf": {mgr.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disable support = %d, want 303", resp.StatusCode)
	}
	if u, _ := e.store.FindUser(ctx, sup.ID); u.DisabledAt == nil || !u.MustChangePassword {
		t.Errorf("support after reset and disable: %+v", u)
	}
}

// An owner resets a person's two-factor sign-in: the person's sessions
// end, the audit log says so, and they sign in with the password alone.
func TestOwnerResetsTwoFactor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	mustUser(t, e, "owner@example.com", models.RoleOwner)
	owner := signedIn(t, e, "owner@example.com")
	finA := signedIn(t, e, "fin@example.com")
	secret, _ := enableTOTP(t, e, finA, now)
	next := now.Add(30 * time.Second)
	e.store.SetClock(func() time.Time { return next })
	finB := newClient(t, e.app)
	token := loginFirstStep(t, finB, "fin@example.com")
	code, _ := totp.GenerateCode(secret, next)
	if resp, _ := finB.post("/login/2fa", url.Values{"csrf": {finB.csrf}, "token": {token}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second browser with the code = %d", resp.StatusCode)
	}
	// A sign-in waiting for its code when the reset happens.
	finC := newClient(t, e.app)
	pendingToken := loginFirstStep(t, finC, "fin@example.com")

	finPath := personURL(e.user.ID)
	_, body := owner.get(finPath)
	if !strings.Contains(body, `data-testid="person-totp-reset"`) || !strings.Contains(body, `hx-confirm=`) {
		t.Fatalf("the person's page offers no two-factor reset with a confirmation")
	}
	if resp, _ := owner.post(finPath+"/totp/reset", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reset without a CSRF token = %d, want 403", resp.StatusCode)
	}
	resp, _ := owner.post(finPath+"/totp/reset", url.Values{"csrf": {owner.csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != finPath+"?done=totp_reset" {
		t.Fatalf("reset = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for name, c := range map[string]*client{"first": finA, "second": finB} {
		if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s browser after the reset = %d, want 303 to sign in", name, resp.StatusCode)
		}
	}
	if ss, err := e.store.LiveSessions(ctx, e.user.ID, models.SessionPolicy{Idle: time.Hour, Absolute: 12 * time.Hour}); err != nil || len(ss) != 0 {
		t.Errorf("live sessions after the reset = %d, %v", len(ss), err)
	}
	code, _ = totp.GenerateCode(secret, next.Add(30*time.Second))
	if resp, _ := finC.post("/login/2fa", url.Values{"csrf": {finC.csrf}, "token": {pendingToken}, "code": {code}}); resp.StatusCode == http.StatusSeeOther {
		t.Errorf("a sign-in started before the reset completed with the old secret")
	}
	c := newClient(t, e.app)
	if resp := c.login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("password alone after the reset = %d, want 303", resp.StatusCode)
	}
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("signed in with the password alone, then GET = %d", resp.StatusCode)
	}
	u, _ := e.store.FindUser(ctx, e.user.ID)
	if u.TOTPEnabledAt != nil || u.TOTPSecret != nil {
		t.Errorf("two-factor still on: %+v", u)
	}
	if n, _ := e.store.RecoveryCodesLeft(ctx, e.user.ID); n != 0 {
		t.Errorf("%d recovery codes left", n)
	}
	es := auditEntries(t, e, models.AuditTOTPReset)
	if len(es) != 1 || es[0].Target != "fin@example.com" || es[0].ActorEmail != "owner@example.com" || es[0].Mid != "mch35000" {
		t.Errorf("totp_reset audit = %+v", es)
	}
	_, body = owner.get(finPath + "?done=totp_reset")
	if !strings.Contains(body, `data-testid="flash-info"`) || strings.Contains(body, `data-testid="person-totp-reset"`) {
		t.Errorf("after the reset the page shows no confirmation, or still offers a reset")
	}
	// Nothing left to reset: said in the reader's language.
	if resp, body := owner.post(finPath+"/totp/reset", url.Values{"csrf": {owner.csrf}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "Two-factor sign-in is already off for this person.") {
		t.Errorf("second reset = %d, want 409 saying it is already off:\n%s", resp.StatusCode, body)
	}
	req := httptest.NewRequest(http.MethodPost, finPath+"/totp/reset", strings.NewReader(url.Values{"csrf": {owner.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "th")
	if resp, body := owner.do(req); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "ผู้ใช้นี้ปิดการยืนยันตัวตนสองขั้นตอนอยู่แล้ว") {
		t.Errorf("second reset in Thai = %d, want 409 in Thai:\n%s", resp.StatusCode, body)
	}
}

// Turning two-factor sign-in on needs the password: a wrong one changes
// nothing (and spends no code); the right one ends the person's other
// sessions and keeps this one. Turning it off ends the others too.
func TestTwoFactorChangeNeedsPasswordAndEndsOtherSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	a := signedIn(t, e, "fin@example.com")
	b := signedIn(t, e, "fin@example.com")

	resp, body := a.post("/account/security/totp", url.Values{"csrf": {a.csrf}})
	m := secretRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `data-testid="totp-password"`) {
		t.Fatalf("setup = %d, secret shown %v, asks for the password %v", resp.StatusCode, m != nil, strings.Contains(body, `data-testid="totp-password"`))
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, _ := totp.GenerateCode(secret, now)
	for _, pw := range []string{"not the password", ""} {
		resp, body = a.post("/account/security/totp/confirm", url.Values{"csrf": {a.csrf}, "password": {pw}, "code": {code}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="totp-password-error"`) || !strings.Contains(body, m[1]) {
			t.Errorf("confirm with password %q = %d, want 200 with the error and the same secret", pw, resp.StatusCode)
		}
		if strings.Contains(body, `data-testid="recovery-code"`) {
			t.Errorf("a wrong password showed recovery codes")
		}
	}
	if u, _ := e.store.FindUser(ctx, e.user.ID); u.TOTPEnabledAt != nil {
		t.Errorf("a wrong password turned two-factor sign-in on")
	}
	if n, _ := e.store.RecoveryCodesLeft(ctx, e.user.ID); n != 0 {
		t.Errorf("a wrong password made %d recovery codes", n)
	}
	if resp, _ := b.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("a wrong password ended the other session: %d", resp.StatusCode)
	}
	if es := auditEntries(t, e, models.AuditTOTPEnable); len(es) != 0 {
		t.Errorf("a refused confirmation was audited: %+v", es)
	}

	// The right password, with the same code (not spent by the refusals).
	resp, body = a.post("/account/security/totp/confirm", url.Values{"csrf": {a.csrf}, "password": {testPassword}, "code": {code}})
	codes := recoveryRe.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(codes) != models.RecoveryCodeCount {
		t.Fatalf("confirm = %d with %d recovery codes", resp.StatusCode, len(codes))
	}
	if resp, _ := b.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session after turning two-factor on = %d, want 303 to sign in", resp.StatusCode)
	}
	if resp, _ := a.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("this session after turning two-factor on = %d, want 200", resp.StatusCode)
	}
	es := auditEntries(t, e, models.AuditTOTPEnable)
	if len(es) != 1 || details(t, es[0])["other_sessions_ended"] != 1.0 {
		t.Errorf("totp_enable audit = %+v", es)
	}

	// Turning it off: another browser signs in with a code, then ends.
	next := now.Add(30 * time.Second)
	e.store.SetClock(func() time.Time { return next })
	c := newClient(t, e.app)
	token := loginFirstStep(t, c, "fin@example.com")
	code, _ = totp.GenerateCode(secret, next)
	if resp, _ := c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the code = %d", resp.StatusCode)
	}
	resp, _ = a.post("/account/security/totp/disable", url.Values{"csrf": {a.csrf}, "password": {testPassword}, "code": {codes[0][1]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable = %d", resp.StatusCode)
	}
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session after turning two-factor off = %d, want 303", resp.StatusCode)
	}
	if resp, _ := a.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("this session after turning two-factor off = %d, want 200", resp.StatusCode)
	}
}

// Changing one's own password ends one's other sessions and keeps this one.
func TestOwnPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	a := signedIn(t, e, "fin@example.com")
	b := signedIn(t, e, "fin@example.com")
	a.get("/account/password")
	resp, _ := a.post("/account/password", url.Values{"csrf": {a.csrf}, "current": {testPassword},
		"new": {"another long password"}, "confirm": {"another long password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change = %d", resp.StatusCode)
	}
	if resp, _ := b.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session after a password change = %d, want 303", resp.StatusCode)
	}
	if resp, _ := a.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("this session after a password change = %d, want 200", resp.StatusCode)
	}
}
