package web

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// mustUser creates a person with role on mids (an owner when role is owner).
func mustUser(t *testing.T, e *testEnv, email, role string, mids ...string) *models.User {
	t.Helper()
	u, err := e.store.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: email, Password: testPassword, Role: role, Mids: mids})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signedIn returns a client signed in as email.
func signedIn(t *testing.T, e *testEnv, email string) *client {
	t.Helper()
	c := newClient(t, e.app)
	if resp := c.login(email, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s = %d", email, resp.StatusCode)
	}
	return c
}

func userCount(t *testing.T, e *testEnv) int64 {
	t.Helper()
	n, err := e.store.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func auditEntries(t *testing.T, e *testEnv, action string) []models.AuditEntry {
	t.Helper()
	es, err := e.store.AuditLog(context.Background(), models.AuditFilter{Action: action, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func details(t *testing.T, e models.AuditEntry) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(e.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

var otpRe = regexp.MustCompile(`data-testid="one-time-password">([^<]+)<`)

func TestPeopleCreateValidationChangesNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	mustUser(t, e, "owner@example.com", models.RoleOwner)
	owner := signedIn(t, e, "owner@example.com")
	resp, body := owner.get("/people/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="role-mch35001"`) {
		t.Fatalf("new form = %d, offers both mids: %v", resp.StatusCode, strings.Contains(body, `data-testid="role-mch35001"`))
	}
	before := userCount(t, e)
	audits := len(auditEntries(t, e, models.AuditPersonCreate))
	resp, body = owner.post("/people", url.Values{"csrf": {owner.csrf}, "email": {"not-an-email"}, "name": {"Sup"},
		"role_mch35000": {"support"}, "cap_mch35000": {"1.234"}, "role_mch35001": {""}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bad form = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{`data-testid="error-email"`, `data-testid="error-cap-mch35000"`, `value="not-an-email"`, `value="1.234"`} {
		if !strings.Contains(body, want) {
			t.Errorf("re-rendered form lacks %s", want)
		}
	}
	if n := userCount(t, e); n != before {
		t.Errorf("a refused form created someone: %d -> %d people", before, n)
	}
	if n := len(auditEntries(t, e, models.AuditPersonCreate)); n != audits {
		t.Errorf("a refused form was audited as a creation")
	}

	resp, body = owner.post("/people", url.Values{"csrf": {owner.csrf}, "email": {"sup@example.com"}, "name": {"Sup"},
		"role_mch35000": {"support"}, "cap_mch35000": {"1,234.50"}, "sameday_mch35000": {"1"}, "role_mch35001": {""}})
	m := otpRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create = %d, one-time password shown: %v", resp.StatusCode, m != nil)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on a page with a password", cc)
	}
	sup := newClient(t, e.app)
	if resp := sup.login("sup@example.com", m[1]); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/password" {
		t.Errorf("first sign-in = %d %q, want 303 to /account/password", resp.StatusCode, resp.Header.Get("Location"))
	}
	u, err := e.store.FindUserByEmail(context.Background(), "sup@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := e.store.Access(context.Background(), u)
	access := acc.Mids
	if err != nil || len(access) != 1 || access[0].RefundCap == nil || *access[0].RefundCap != 123450 || !access[0].SameDayOnly {
		t.Errorf("access = %+v, %v; want support on mch35000 capped at 123450, same day", access, err)
	}
	es := auditEntries(t, e, models.AuditPersonCreate)
	if len(es) != audits+1 || es[0].Mid != "mch35000" || es[0].Target != "sup@example.com" || es[0].ActorEmail != "owner@example.com" {
		t.Fatalf("audit = %+v", es)
	}
	if d := details(t, es[0]); strings.Contains(string(es[0].Details), m[1]) || d["refund_cap"] != 123450.0 || d["role"] != "support" {
		t.Errorf("audit details = %s", es[0].Details)
	}
	// The list shows the cap in baht with the currency.
	_, body = owner.get("/people")
	if !strings.Contains(body, `data-testid="person-sup@example.com"`) || !strings.Contains(body, "1,234.50 THB") {
		t.Errorf("list does not show the new person with the cap")
	}
}

// A manager sees only people on their mids and may grant only there:
// others are 404, grants elsewhere are a validation error.
func TestManagerCannotSeeOrEditOutsideTheirMids(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	mustUser(t, e, "mgr@example.com", models.RoleManager, "mch35000")
	ownerU := mustUser(t, e, "owner@example.com", models.RoleOwner)
	other := mustUser(t, e, "other@example.com", models.RoleFinance, "mch35001")
	both := mustUser(t, e, "both@example.com", models.RoleFinance, "mch35000", "mch35001")
	mgr := signedIn(t, e, "mgr@example.com")

	resp, body := mgr.get("/people")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list = %d", resp.StatusCode)
	}
	if !strings.Contains(body, `data-testid="person-fin@example.com"`) || !strings.Contains(body, `data-testid="person-both@example.com"`) {
		t.Errorf("manager does not see the people on their mid")
	}
	for _, hidden := range []string{"other@example.com", "owner@example.com", `data-testid="grant-mch35001"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("manager's list shows %s", hidden)
		}
	}
	for _, id := range []int64{other.ID, ownerU.ID} {
		p := "/people/" + strconv.FormatInt(id, 10)
		if resp, _ := mgr.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
		for _, post := range []string{"", "/disable", "/enable", "/password", "/totp/reset"} {
			resp, _ := mgr.post(p+post, url.Values{"csrf": {mgr.csrf}, "name": {"x"}, "role_mch35000": {"viewer"}})
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s%s = %d, want 404", p, post, resp.StatusCode)
			}
		}
	}
	if u, _ := e.store.FindUser(ctx, other.ID); u.Name != "" || u.DisabledAt != nil {
		t.Errorf("a 404 changed the person: %+v", u)
	}

	// both@ also works on a mid the manager does not hold: shown without
	// the other mid, read-only, and every change is refused.
	bothPath := "/people/" + strconv.FormatInt(both.ID, 10)
	resp, body = mgr.get(bothPath)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "mch35001") || strings.Contains(body, `data-testid="person-disable"`) ||
		strings.Contains(body, `data-testid="person-submit"`) || !strings.Contains(body, `data-testid="person-readonly"`) {
		t.Errorf("page of both@ = %d; shows the other mid: %v; offers disable: %v; offers save: %v", resp.StatusCode,
			strings.Contains(body, "mch35001"), strings.Contains(body, `data-testid="person-disable"`), strings.Contains(body, `data-testid="person-submit"`))
	}
	for _, post := range []string{"", "/disable", "/password"} {
		resp, _ := mgr.post(bothPath+post, url.Values{"csrf": {mgr.csrf}, "name": {"Both"}, "role_mch35000": {"viewer"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s%s for a person who also works elsewhere = %d, want 403", bothPath, post, resp.StatusCode)
		}
	}
	ms, _ := e.store.Memberships(ctx, both.ID)
	if u, _ := e.store.FindUser(ctx, both.ID); len(ms) != 2 || ms[0].Role != models.RoleFinance || ms[1].Role != models.RoleFinance ||
		u.Name != "" || u.DisabledAt != nil || u.MustChangePassword {
		t.Errorf("refused changes changed both@: %+v %+v", u, ms)
	}
	// fin@ works only on the manager's mid: granting on another mid is a
	// validation error that changes nothing.
	finPath := "/people/" + strconv.FormatInt(e.user.ID, 10)
	resp, body = mgr.post(finPath, url.Values{"csrf": {mgr.csrf}, "name": {"Fin 2"}, "role_mch35000": {"viewer"}, "role_mch35001": {"viewer"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="error-grants"`) {
		t.Errorf("grant on a foreign mid = %d, want 200 with the error", resp.StatusCode)
	}
	if ms, _ := e.store.Memberships(ctx, e.user.ID); len(ms) != 1 || ms[0].Role != models.RoleFinance {
		t.Errorf("a refused update changed memberships: %+v", ms)
	}
	// Creating on a mid they do not manage: refused, nobody created.
	n := userCount(t, e)
	resp, body = mgr.post("/people", url.Values{"csrf": {mgr.csrf}, "email": {"new@example.com"}, "role_mch35001": {"viewer"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="error-grants"`) || userCount(t, e) != n {
		t.Errorf("create on a foreign mid = %d (people %d -> %d)", resp.StatusCode, n, userCount(t, e))
	}
	resp, _ = mgr.post("/people", url.Values{"csrf": {mgr.csrf}, "email": {"new@example.com"}, "owner": {"1"}, "role_mch35000": {"viewer"}})
	if resp.StatusCode != http.StatusOK || userCount(t, e) != n {
		t.Errorf("manager creating an owner = %d", resp.StatusCode)
	}
	// Within their mid, the change goes through.
	resp, _ = mgr.post(finPath, url.Values{"csrf": {mgr.csrf}, "name": {"Fin"}, "role_mch35000": {"support"}, "cap_mch35000": {"500"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != finPath+"?done=person_saved" {
		t.Fatalf("update = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ms, _ = e.store.Memberships(ctx, e.user.ID)
	if len(ms) != 1 || ms[0].Role != models.RoleSupport {
		t.Errorf("memberships after the update = %+v", ms)
	}
	es := auditEntries(t, e, models.AuditRoleChange)
	if len(es) != 1 || es[0].Mid != "mch35000" {
		t.Fatalf("role_change audit = %+v", es)
	}
	d := details(t, es[0])
	before, _ := d["before"].(map[string]any)
	after, _ := d["after"].(map[string]any)
	if before["role"] != "finance" || after["role"] != "support" || after["refund_cap"] != 50000.0 {
		t.Errorf("role_change details = %s", es[0].Details)
	}
}

func TestDisableEndsSessionsAndResetShowsPasswordOnce(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	mustUser(t, e, "owner@example.com", models.RoleOwner)
	owner := signedIn(t, e, "owner@example.com")
	fin := signedIn(t, e, "fin@example.com")
	finPath := "/people/" + strconv.FormatInt(e.user.ID, 10)

	resp, _ := owner.post(finPath+"/disable", url.Values{"csrf": {owner.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable = %d", resp.StatusCode)
	}
	if resp, _ := fin.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disabled person's next request = %d, want 303 to sign in", resp.StatusCode)
	}
	if resp := newClient(t, e.app).login("fin@example.com", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled person signing in = %d, want 401", resp.StatusCode)
	}
	_, body := owner.get(finPath + "?done=person_disabled")
	if !strings.Contains(body, `data-testid="person-disabled"`) || !strings.Contains(body, `data-testid="flash-info"`) {
		t.Errorf("edit page does not show the person disabled")
	}
	if resp, _ := owner.post(finPath+"/enable", url.Values{"csrf": {owner.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable = %d", resp.StatusCode)
	}
	fin = signedIn(t, e, "fin@example.com")

	resp, body = owner.post(finPath+"/password", url.Values{"csrf": {owner.csrf}})
	m := otpRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset = %d, password shown %v, Cache-Control %q", resp.StatusCode, m != nil, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := fin.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a reset the old session = %d, want 303", resp.StatusCode)
	}
	c := newClient(t, e.app)
	if resp := c.login("fin@example.com", m[1]); resp.Header.Get("Location") != "/account/password" {
		t.Errorf("sign-in with the reset password = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := owner.get(finPath); strings.Contains(body, m[1]) {
		t.Errorf("the one-time password is shown again")
	}
	for _, a := range []string{models.AuditPersonDisable, models.AuditPersonEnable, models.AuditPasswordReset} {
		es := auditEntries(t, e, a)
		if len(es) != 1 || es[0].Target != "fin@example.com" || es[0].Mid != "mch35000" || strings.Contains(string(es[0].Details), m[1]) {
			t.Errorf("%s audit = %+v", a, es)
		}
	}
}

func TestLastOwnerCannotDisableOrDemoteThemselves(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	o := mustUser(t, e, "owner@example.com", models.RoleOwner)
	owner := signedIn(t, e, "owner@example.com")
	p := "/people/" + strconv.FormatInt(o.ID, 10)
	resp, body := owner.post(p+"/disable", url.Values{"csrf": {owner.csrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="error-person"`) {
		t.Errorf("last owner disabling themselves = %d, want 200 with the reason", resp.StatusCode)
	}
	resp, _ = owner.post(p, url.Values{"csrf": {owner.csrf}, "name": {"O"}, "role_mch35000": {"manager"}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("last owner demoting themselves = %d, want 200", resp.StatusCode)
	}
	if resp, _ := owner.get("/accounts"); resp.StatusCode == http.StatusSeeOther {
		t.Errorf("the owner was signed out")
	}
	if u, _ := e.store.FindUser(context.Background(), o.ID); !u.IsOwner || u.DisabledAt != nil || u.Name != "" {
		t.Errorf("refusals changed the owner: %+v", u)
	}
	// htmx buttons get the reason alone, for #flash.
	req := request(http.MethodPost, p+"/disable", owner.csrf)
	req.Header.Set("HX-Request", "true")
	resp, body = owner.do(req)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="error"`) || strings.Contains(body, "<html") {
		t.Errorf("htmx disable of the last owner = %d, partial: %v", resp.StatusCode, !strings.Contains(body, "<html"))
	}
}

var (
	secretRe   = regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7 ]+)<`)
	recoveryRe = regexp.MustCompile(`data-testid="recovery-code">([a-z2-9]{5}-[a-z2-9]{5})<`)
	tokenRe    = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// enableTOTP turns on two-factor sign-in through the pages and returns the
// secret and the recovery codes.
func enableTOTP(t *testing.T, e *testEnv, c *client, now time.Time) (string, []string) {
	t.Helper()
	resp, body := c.post("/account/security/totp", url.Values{"csrf": {c.csrf}})
	m := secretRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("setup = %d, secret shown %v", resp.StatusCode, m != nil)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	resp, body = c.post("/account/security/totp/confirm", url.Values{"csrf": {c.csrf}, "password": {testPassword}, "code": {"000000"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="totp-error"`) || !strings.Contains(body, m[1]) {
		t.Errorf("wrong first code = %d, want 200 with the same secret and an error", resp.StatusCode)
	}
	code, _ := totp.GenerateCode(secret, now)
	resp, body = c.post("/account/security/totp/confirm", url.Values{"csrf": {c.csrf}, "password": {testPassword}, "code": {code}})
	codes := recoveryRe.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(codes) != models.RecoveryCodeCount {
		t.Fatalf("confirm = %d with %d recovery codes", resp.StatusCode, len(codes))
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return secret, out
}

// loginFirstStep signs in with the password and returns the code form's token.
func loginFirstStep(t *testing.T, c *client, email string) string {
	t.Helper()
	c.get("/login")
	resp, body := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {email}, "password": {testPassword}})
	m := tokenRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `data-testid="login-code"`) {
		t.Fatalf("password step = %d, code form shown: %v", resp.StatusCode, m != nil)
	}
	if _, ok := c.cookies["ksd_session"]; ok {
		t.Fatalf("a session started before the second factor")
	}
	return m[1]
}

func TestLoginWithTwoFactor(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	fin := signedIn(t, e, "fin@example.com")
	secret, codes := enableTOTP(t, e, fin, now)

	c := newClient(t, e.app)
	token := loginFirstStep(t, c, "fin@example.com")
	// The code used to turn it on cannot sign in (used once already).
	used, _ := totp.GenerateCode(secret, now)
	resp, body := c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {used}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `data-testid="login-code-error"`) {
		t.Errorf("replayed code = %d, want 401 with an error", resp.StatusCode)
	}
	next := now.Add(30 * time.Second)
	e.store.SetClock(func() time.Time { return next })
	code, _ := totp.GenerateCode(secret, next)
	// A token for another person, or altered, starts over.
	forged := strings.Replace(token, strconv.FormatInt(e.user.ID, 10)+".", "1"+strconv.FormatInt(e.user.ID, 10)+".", 1)
	resp, body = c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {forged}, "code": {code}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `data-testid="login-email"`) {
		t.Errorf("forged token = %d, want 401 and the password form", resp.StatusCode)
	}
	resp, _ = c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {code}, "next": {"/account/security"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/security" {
		t.Fatalf("right code = %d %q, want 303 to next", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("signed in with the code, then GET = %d", resp.StatusCode)
	}

	// A recovery code signs in once.
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		c := newClient(t, e.app)
		token := loginFirstStep(t, c, "fin@example.com")
		resp, _ := c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {codes[0]}})
		if resp.StatusCode != want {
			t.Errorf("recovery code, use %d = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	logins := auditEntries(t, e, models.AuditLogin)
	if len(logins) == 0 || details(t, logins[0])["second_factor"] != models.MethodRecoveryCode {
		t.Errorf("last login audit = %+v", logins)
	}
	// The page shows what is left; turning it off needs password and code.
	_, body = fin.get("/account/security")
	if !strings.Contains(body, `data-testid="totp-status"`) || !strings.Contains(body, ": 9<") {
		t.Errorf("security page does not show two-factor on with 9 codes left")
	}
	resp, body = fin.post("/account/security/totp/disable", url.Values{"csrf": {fin.csrf}, "password": {"wrong password"}, "code": {codes[1]}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "aria-invalid=\"true\"") {
		t.Errorf("disable with a wrong password = %d, want 200", resp.StatusCode)
	}
	resp, _ = fin.post("/account/security/totp/disable", url.Values{"csrf": {fin.csrf}, "password": {testPassword}, "code": {codes[1]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/security?done=totp_disabled" {
		t.Errorf("disable = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := newClient(t, e.app).login("fin@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("password alone after turning it off = %d, want 303", resp.StatusCode)
	}
}

func TestTwoFactorFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	now := time.Now()
	e.store.SetClock(func() time.Time { return now })
	fin := signedIn(t, e, "fin@example.com")
	secret, _ := enableTOTP(t, e, fin, now)
	next := now.Add(30 * time.Second)
	e.store.SetClock(func() time.Time { return next })

	c := newClient(t, e.app)
	token := loginFirstStep(t, c, "fin@example.com")
	for i := 0; i < models.DefaultLoginPolicy.PerAccount; i++ {
		if resp, _ := c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {"000000"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d = %d, want 401", i, resp.StatusCode)
		}
	}
	code, _ := totp.GenerateCode(secret, next)
	resp, body := c.post("/login/2fa", url.Values{"csrf": {c.csrf}, "token": {token}, "code": {code}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `data-testid="login-code-error"`) {
		t.Errorf("right code after %d failures = %d, want 429", models.DefaultLoginPolicy.PerAccount, resp.StatusCode)
	}
	if _, ok := c.cookies["ksd_session"]; ok {
		t.Errorf("a throttled attempt started a session")
	}
	if es := auditEntries(t, e, models.AuditLoginFailed); len(es) < models.DefaultLoginPolicy.PerAccount+1 {
		t.Errorf("failed second factors audited %d times", len(es))
	}
}

var sessionRowRe = regexp.MustCompile(`(?s)data-testid="session-row">(.*?)</tr>`)
var handleRe = regexp.MustCompile(`name="session" value="([0-9a-f]{16})"`)

func TestSecurityPageRevokesSessions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	a := signedIn(t, e, "fin@example.com")
	b := signedIn(t, e, "fin@example.com")
	resp, body := a.get("/account/security")
	rows := sessionRowRe.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(rows) != 2 {
		t.Fatalf("security page = %d with %d sessions, want 2", resp.StatusCode, len(rows))
	}
	var current, other string
	for _, r := range rows {
		h := handleRe.FindStringSubmatch(r[1])
		if h == nil {
			t.Fatalf("row without a handle: %s", r[1])
		}
		if strings.Contains(r[1], `data-testid="session-current"`) {
			current = h[1]
		} else {
			other = h[1]
		}
	}
	if current == "" || other == "" {
		t.Fatalf("no row marked as this session")
	}
	resp, _ = a.post("/account/security/sessions/revoke", url.Values{"csrf": {a.csrf}, "session": {other}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/security?done=session_revoked" {
		t.Errorf("revoke other = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("revoked browser = %d, want 303 to sign in", resp.StatusCode)
	}
	// Someone else's session or garbage: not found.
	owner := mustUser(t, e, "owner@example.com", models.RoleOwner)
	_ = owner
	o := signedIn(t, e, "owner@example.com")
	if resp, _ := o.post("/account/security/sessions/revoke", url.Values{"csrf": {o.csrf}, "session": {current}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking another person's session = %d, want 404", resp.StatusCode)
	}
	if resp, _ := a.get("/m/mch35000"); resp.StatusCode != http.StatusOK {
		t.Errorf("another person ended this session")
	}
	// Ending the current session signs out.
	resp, _ = a.post("/account/security/sessions/revoke", url.Values{"csrf": {a.csrf}, "session": {current}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("revoke current = %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := a.get("/m/mch35000"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after ending the current session GET = %d, want 303", resp.StatusCode)
	}
	if es := auditEntries(t, e, models.AuditSessionRevoke); len(es) != 2 {
		t.Errorf("session_revoke audited %d times, want 2", len(es))
	}
}

// Every reason models gives for refusing a form, and every confirmation,
// is translated in every language (ids built at run time escape
// TestCatalogsComplete's scanner).
func TestPeopleCatalogsCoverRuntimeIDs(t *testing.T) {
	ids := []string{"done.person_saved", "done.person_disabled", "done.person_enabled", "done.session_revoked",
		"done.sessions_revoked", "done.totp_disabled", "done.totp_reset", "people.edit", "people.created", "people.reset_done",
		"security.title", "security.setup_title", "security.codes_title", "login2fa.title"}
	ids = append(ids, models.InputReasons...) // message ids
	ids = append(ids, "input.role_unknown", "input.mids_required")
	for _, r := range models.GrantRoles {
		ids = append(ids, "role."+r)
	}
	for _, lang := range []string{"en", "th"} {
		have := map[string]bool{}
		files, _ := fs.Glob(views.Locales, "locales/"+lang+"/*.json")
		for _, f := range files {
			b, _ := fs.ReadFile(views.Locales, f)
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for id := range m {
				have[id] = true
			}
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("%s lacks %q", lang, id)
			}
		}
	}
}
