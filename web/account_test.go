package web

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// MustOwner creates an owner and returns a client signed in as them.
func MustOwner(t *testing.T, e *testEnv) *client {
	t.Helper()
	return mustSignedIn(t, e, models.NewUser{Email: "owner@example.com", Name: "Olivia", Password: testPassword, Role: models.RoleOwner})
}

// mustSignedIn creates the person n and signs them in.
func mustSignedIn(t *testing.T, e *testEnv, n models.NewUser) *client {
	t.Helper()
	if _, err := e.store.CreateUser(context.Background(), models.CommandLine(), n); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.app)
	if resp := c.login(n.Email, n.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s = %d", n.Email, resp.StatusCode)
	}
	return c
}

// MustKey reads a PEM file of testdata/ksher/keys.
func MustKey(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ksher", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// testSandbox is gateway/sandbox behind a real HTTP server.
type testSandbox struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server
}

// MustSandbox starts a Ksher simulator that accepts the test merchant key
// (mch_priv_pkcs1.pem) for each v3 appid and token for the vip mids.
func MustSandbox(tb testing.TB, token string, appids, vipMids []string) *testSandbox {
	tb.Helper()
	mchPub, err := ksign.ParsePublicKey([]byte(MustKey(tb, "mch_pub_spki.pem")))
	if err != nil {
		tb.Fatal(err)
	}
	ksherKey, err := ksign.ParsePrivateKey([]byte(MustKey(tb, "ksim_priv_pkcs1.pem")))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := sandbox.Config{AppIDs: map[string]*rsa.PublicKey{}, KsherKey: ksherKey, Token: token, Mids: vipMids,
		SpeedFactor: 0.001, Logger: slog.New(slog.DiscardHandler)}
	for _, id := range appids {
		cfg.AppIDs[id] = mchPub
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	tb.Cleanup(func() {
		srv.Close()
		if err := sb.Close(); err != nil {
			tb.Errorf("sandbox close: %v", err)
		}
	})
	return &testSandbox{sb: sb, srv: srv}
}

// counts returns the number of accounts, mids and audit entries.
func counts(tb testing.TB, s *models.Store) [3]int {
	tb.Helper()
	ctx := context.Background()
	as, err := s.Accounts(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ms, err := s.AllMids(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	es, err := s.AuditLog(ctx, models.AuditFilter{Limit: 200})
	if err != nil {
		tb.Fatal(err)
	}
	return [3]int{len(as), len(ms), len(es)}
}

// auditOf returns the entries of action, newest first.
// The entries of the test's own setup (accounts made by the sandbox setup,
// people by the command line) are left out: only what people did through
// the app is returned.
func auditOf(tb testing.TB, s *models.Store, action string) []models.AuditEntry {
	tb.Helper()
	es, err := s.AuditLog(context.Background(), models.AuditFilter{Action: action, Limit: 200})
	if err != nil {
		tb.Fatal(err)
	}
	out := es[:0]
	for _, e := range es {
		if e.ActorID != nil {
			out = append(out, e)
		}
	}
	return out
}

// accountByName finds an account, or fails.
func accountByName(tb testing.TB, s *models.Store, name string) *models.MerchantAccount {
	tb.Helper()
	as, err := s.Accounts(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for i := range as {
		if as[i].Name == name {
			return &as[i]
		}
	}
	tb.Fatalf("no account %q", name)
	return nil
}

func mustCredentials(tb testing.TB, s *models.Store, a *models.MerchantAccount) *models.Credentials {
	tb.Helper()
	c, err := s.AccountCredentials(a)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// postForm posts an account form as a browser would.
func (c *client) postForm(path string, fields map[string]string) (*http.Response, string) {
	c.t.Helper()
	form := url.Values{"csrf": {c.csrf}}
	for k, v := range fields {
		form.Set(k, v)
	}
	return c.post(path, form)
}

// htmxPost posts like htmx: the CSRF token in a header, HX-Request set.
func (c *client) htmxPost(path string) (*http.Response, string) {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.do(req)
}

var fingerprintRe = regexp.MustCompile(`data-testid="fingerprint">([^<]*)<`)

func TestAccountCreateAndEditVIP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	owner := MustOwner(t, e)
	resp, body := owner.get("/accounts/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="account-form"`) {
		t.Fatalf("GET /accounts/new = %d", resp.StatusCode)
	}
	const token = "tok-ksd-9a1f7c3e2b"
	resp, _ = owner.postForm("/accounts", map[string]string{"name": "Shop", "api_kind": "vip",
		"base_url": "https://shop.vip.ksher.net/", "time_zone": "Asia/Bangkok",
		"mids": "mch50001 Shop one\n\nmch50002   Shop two  \n", "token": token})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d, want 303", resp.StatusCode)
	}
	a := accountByName(t, e.store, "Shop")
	if want := "/accounts/" + strconv.FormatInt(a.ID, 10) + "?saved=1"; resp.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), want)
	}
	if a.APIKind != models.APIVIP || a.BaseURL != "https://shop.vip.ksher.net" || a.GatewayBaseURL != "" || a.Sandbox {
		t.Errorf("stored %s %q %q sandbox=%v", a.APIKind, a.BaseURL, a.GatewayBaseURL, a.Sandbox)
	}
	if len(a.Mids) != 2 || a.Mids[0].Mid != "mch50001" || a.Mids[0].Name != "Shop one" || a.Mids[1].Name != "Shop two" {
		t.Errorf("mids = %+v", a.Mids)
	}
	creds := mustCredentials(t, e.store, a)
	if creds.Token != token || a.CredentialsFingerprint != creds.Fingerprint() {
		t.Fatalf("credentials not stored as typed (fingerprint %q)", a.CredentialsFingerprint)
	}
	fp := a.CredentialsFingerprint

	// The page shows the fingerprint, never the token.
	_, body = owner.get(resp.Header.Get("Location"))
	if m := fingerprintRe.FindStringSubmatch(body); m == nil || m[1] != fp {
		t.Errorf("page fingerprint = %v, want %s", m, fp)
	}
	if !strings.Contains(body, `data-testid="flash-info"`) || !strings.Contains(body, `data-testid="token-stored"`) {
		t.Errorf("no saved notice or stored badge")
	}
	_, list := owner.get("/accounts")
	for _, page := range []string{body, list} {
		if strings.Contains(page, token) {
			t.Fatal("a page shows the token")
		}
	}
	if !strings.Contains(list, fp) || !strings.Contains(list, "mch50002") {
		t.Errorf("list lacks the fingerprint or a mid")
	}
	if es := auditOf(t, e.store, models.AuditAccountCreate); len(es) != 1 || es[0].Target != "Shop" || es[0].ActorEmail != "owner@example.com" {
		t.Errorf("account_create entries = %+v", es)
	}
	cc := auditOf(t, e.store, models.AuditCredentialChange)
	if len(cc) != 1 || !strings.Contains(string(cc[0].Details), `"new": "`+fp+`"`) || !strings.Contains(string(cc[0].Details), `"old": ""`) {
		t.Errorf("credential_change = %+v", cc)
	}

	// Edit without secrets: the token and its fingerprint stay. Dropping
	// mch50002 also drops the roles on it, so it needs a confirmation.
	clerk, err := e.store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "clerk@example.com", Password: testPassword, Role: models.RoleSupport, Mids: []string{"mch50002"}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/accounts/" + strconv.FormatInt(a.ID, 10)
	edit := map[string]string{"name": "Shop renamed", "api_kind": "vip",
		"base_url": "https://shop.vip.ksher.net", "time_zone": "Asia/Bangkok", "mids": "mch50001 Shop one\nmch50003 Three", "token": ""}
	before := counts(t, e.store)
	resp, body = owner.postForm(path, edit)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="account-confirm-remove"`) || !strings.Contains(body, "Removing mch50002") {
		t.Fatalf("dropping a mid without confirmation = %d, want 200 asking to confirm", resp.StatusCode)
	}
	if after := counts(t, e.store); after != before {
		t.Errorf("an unconfirmed removal changed something: %v -> %v", before, after)
	}
	edit["confirm_remove"] = "1"
	resp, _ = owner.postForm(path, edit)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit = %d, want 303", resp.StatusCode)
	}
	if access, err := e.store.Access(ctx, clerk); err != nil || len(access.Mids) != 0 {
		t.Errorf("the role on the removed mid survives: %v %v", access, err)
	}
	a2, _ := e.store.Account(ctx, a.ID)
	if a2.Name != "Shop renamed" || a2.CredentialsFingerprint != fp || mustCredentials(t, e.store, a2).Token != token {
		t.Errorf("after edit without secrets: name %q fingerprint %q (want %q)", a2.Name, a2.CredentialsFingerprint, fp)
	}
	if len(a2.Mids) != 2 || a2.Mids[1].Mid != "mch50003" {
		t.Errorf("mids after edit = %+v", a2.Mids)
	}
	up := auditOf(t, e.store, models.AuditAccountUpdate)
	if len(up) != 1 || !strings.Contains(string(up[0].Details), "mch50003") || !strings.Contains(string(up[0].Details), "Shop renamed") {
		t.Errorf("account_update = %+v", up)
	}
	if n := len(auditOf(t, e.store, models.AuditCredentialChange)); n != 1 {
		t.Errorf("credential_change entries = %d after an edit without secrets, want 1", n)
	}

	// A new token: a new fingerprint, audited with both fingerprints only.
	const token2 = "tok-ksd-second-55e0"
	owner.postForm(path, map[string]string{"name": "Shop renamed", "api_kind": "vip", "base_url": "https://shop.vip.ksher.net",
		"time_zone": "Asia/Bangkok", "mids": "mch50001 Shop one\nmch50003 Three", "token": token2})
	a3, _ := e.store.Account(ctx, a.ID)
	if a3.CredentialsFingerprint == fp || mustCredentials(t, e.store, a3).Token != token2 {
		t.Fatalf("new token not stored")
	}
	cc = auditOf(t, e.store, models.AuditCredentialChange)
	if len(cc) != 2 || !strings.Contains(string(cc[0].Details), fp) || !strings.Contains(string(cc[0].Details), a3.CredentialsFingerprint) {
		t.Errorf("credential_change = %+v", cc)
	}
	for _, e := range auditOf(t, e.store, "") {
		if strings.Contains(string(e.Details), token) || strings.Contains(string(e.Details), token2) {
			t.Errorf("audit entry %s holds a token", e.Action)
		}
	}
}

func TestAccountCreateV3SharedAndPerMidKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	owner := MustOwner(t, e)
	mchKey, otherKey := MustKey(t, "mch_priv_pkcs1.pem"), MustKey(t, "ksim_priv_pkcs1.pem")
	owner.get("/accounts/new")
	resp, body := owner.postForm("/accounts", map[string]string{"name": "Cafe", "api_kind": "v3", "base_url": "", "gateway_base_url": "",
		"time_zone": "Asia/Singapore", "mids": "mch60001 Branch A\nmch60002 Branch B", "private_key": mchKey, "key_mch60002": otherKey})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d, want 303\n%s", resp.StatusCode, body)
	}
	a := accountByName(t, e.store, "Cafe")
	if a.BaseURL != "https://api.mch.ksher.net" || a.GatewayBaseURL != "https://gateway.ksher.com" || a.TimeZone != "Asia/Singapore" {
		t.Errorf("defaults: %q %q %q", a.BaseURL, a.GatewayBaseURL, a.TimeZone)
	}
	creds := mustCredentials(t, e.store, a)
	if strings.TrimSpace(creds.PrivateKeys["mch60001"]) != strings.TrimSpace(mchKey) || strings.TrimSpace(creds.PrivateKeys["mch60002"]) != strings.TrimSpace(otherKey) {
		t.Errorf("keys not stored per mid (shared for mch60001, own for mch60002)")
	}
	// The edit page has a field per mid, marked as stored, and no key.
	_, body = owner.get("/accounts/" + strconv.FormatInt(a.ID, 10))
	for _, want := range []string{`data-testid="key-stored-mch60001"`, `data-testid="key-stored-mch60002"`, `name="key_mch60001"`} {
		if !strings.Contains(body, want) {
			t.Errorf("edit page lacks %s", want)
		}
	}
	if strings.Contains(body, "PRIVATE KEY-----\n") || strings.Contains(body, strings.Split(mchKey, "\n")[1]) {
		t.Error("edit page shows a key")
	}
	if strings.Contains(body, "Asia/Singapore, +08") == false {
		t.Errorf("times not shown in the account's zone")
	}
}

// Invalid input re-renders the form with the problem, stores nothing and
// never sends a typed secret back.
func TestAccountBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	owner := MustOwner(t, e)
	mchKey := MustKey(t, "mch_priv_pkcs1.pem")
	const token = "tok-never-echoed-31c8"
	valid := map[string]string{"name": "New", "api_kind": "vip", "base_url": "https://new.vip.ksher.net",
		"time_zone": "Asia/Bangkok", "mids": "mch70001 A", "token": token}
	v3 := map[string]string{"name": "New", "api_kind": "v3", "time_zone": "Asia/Bangkok", "mids": "mch70001 A\nmch70002 B", "private_key": mchKey}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name  string
		form  map[string]string
		field string
		want  string
	}{
		{"no name", with(valid, "name", "  "), "name", "Enter a name."},
		{"name taken", with(valid, "name", "demo"), "name", "Another account already has this name."},
		{"bad kind", with(valid, "api_kind", "v2"), "api_kind", "Choose v3"},
		{"relative URL", with(valid, "base_url", "shop.vip.ksher.net"), "base_url", "absolute http(s) URL"},
		{"vip without URL", with(valid, "base_url", ""), "base_url", "absolute http(s) URL"},
		{"bad zone", with(valid, "time_zone", "Mars/Olympus"), "time_zone", "Unknown time zone"},
		{"no mids", with(valid, "mids", "\n \n"), "mids", "Add at least one mid."},
		{"bad mid", with(valid, "mids", "mch 1\nmch/2 x"), "mids", "is not a mid"},
		{"mid twice", with(valid, "mids", "mch70001 A\nmch70001 B"), "mids", "listed twice"},
		{"mid of another account", with(valid, "mids", "mch35000 Theirs"), "mids", "mch35000 belongs to another account."},
		{"vip without token", with(valid, "token", ""), "token", "Enter the API token."},
		{"v3 without key", with(v3, "private_key", ""), "key_mch70001", "Enter the private key of mch70001"},
		{"v3 garbage key", with(v3, "private_key", "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----"), "private_key", "not an RSA private key"},
		{"v3 public key as private", with(v3, "key_mch70002", MustKey(t, "mch_pub_spki.pem")), "key_mch70002", "The key of mch70002 is not an RSA private key"},
		{"v3 bad Ksher key", with(v3, "ksher_public_key", "not a key"), "ksher_public_key", "not an RSA public key"},
	}
	owner.get("/accounts/new")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counts(t, e.store)
			resp, body := owner.postForm("/accounts", tt.form)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if !strings.Contains(body, `data-testid="error-`+tt.field+`"`) && !strings.Contains(body, `data-testid="account-errors"`) {
				t.Errorf("no error shown for %s", tt.field)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body lacks %q", tt.want)
			}
			if strings.Contains(body, "accounts.error.") {
				t.Errorf("an untranslated message id is shown")
			}
			if after := counts(t, e.store); after != before {
				t.Errorf("accounts, mids, audit entries = %v, want %v (unchanged)", after, before)
			}
			if strings.Contains(body, token) || strings.Contains(body, strings.Split(mchKey, "\n")[1]) {
				t.Errorf("the re-rendered form sends a secret back")
			}
			if !strings.Contains(body, `value="New"`) && tt.field != "name" {
				t.Errorf("the form lost the typed name")
			}
		})
	}

	// On edit, invalid input leaves the stored account as it was.
	demo := accountByName(t, e.store, "Demo")
	path := "/accounts/" + strconv.FormatInt(demo.ID, 10)
	owner.get(path)
	resp, _ := owner.postForm(path, map[string]string{"name": "Demo 2", "api_kind": "vip", "base_url": "ftp://x", "mids": "mch35000", "token": token})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit status = %d, want 200", resp.StatusCode)
	}
	after, _ := e.store.Account(context.Background(), demo.ID)
	if after.Name != "Demo" || !after.UpdatedAt.Equal(demo.UpdatedAt) || after.CredentialsFingerprint != demo.CredentialsFingerprint || len(after.Mids) != 2 {
		t.Errorf("a refused edit changed the account: %+v", after)
	}
	if resp, _ := owner.get("/accounts/999999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account = %d, want 404", resp.StatusCode)
	}
	if resp, _ := owner.get("/accounts/x1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("non-numeric id = %d, want 404", resp.StatusCode)
	}
}

func TestAccountsAreOwnersOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	manager := mustSignedIn(t, e, models.NewUser{Email: "mgr@example.com", Password: testPassword, Role: models.RoleManager, Mids: []string{"mch35000", "mch35001"}})
	demo := accountByName(t, e.store, "Demo")
	id := strconv.FormatInt(demo.ID, 10)
	for _, path := range []string{"/accounts", "/accounts/new", "/accounts/" + id} {
		if resp, body := manager.get(path); resp.StatusCode != http.StatusForbidden || strings.Contains(body, demo.CredentialsFingerprint) {
			t.Errorf("manager GET %s = %d, want 403", path, resp.StatusCode)
		}
	}
	before := counts(t, e.store)
	resp, _ := manager.postForm("/accounts", map[string]string{"name": "Mine", "api_kind": "vip", "base_url": "https://m.vip.ksher.net", "mids": "mch80001", "token": "t"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager POST /accounts = %d, want 403", resp.StatusCode)
	}
	resp, _ = manager.postForm("/accounts/"+id, map[string]string{"name": "Hijacked", "api_kind": "vip", "base_url": "https://m.vip.ksher.net", "mids": "mch35000", "token": "t"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager POST /accounts/%s = %d, want 403", id, resp.StatusCode)
	}
	if resp, _ := manager.htmxPost("/accounts/" + id + "/test"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager test connection = %d, want 403", resp.StatusCode)
	}
	if after := counts(t, e.store); after != before {
		t.Errorf("refused requests changed something: %v -> %v", before, after)
	}
	// Owners see the navigation entry; managers do not.
	if _, body := manager.get("/m/mch35000"); strings.Contains(body, `data-testid="nav-accounts"`) {
		t.Error("manager sees the accounts link")
	}
	_, body := MustOwner(t, e).get("/m/mch35000")
	if !strings.Contains(body, `data-testid="nav-accounts"`) {
		t.Error("owner lacks the accounts link")
	}
}

var (
	testResultRe = regexp.MustCompile(`data-testid="account-test-result" data-ok="(true|false)"`)
	testRowRe    = regexp.MustCompile(`data-testid="account-test-row-([^"]+)" data-kind="([^"]*)" data-code="([^"]*)"`)
)

// testRows returns mid -> "kind code" ("" kind: ok) of a test result.
func testRows(body string) (ok string, rows map[string]string) {
	rows = map[string]string{}
	if m := testResultRe.FindStringSubmatch(body); m != nil {
		ok = m[1]
	}
	for _, m := range testRowRe.FindAllStringSubmatch(body, -1) {
		rows[m[1]] = strings.TrimSpace(m[2] + " " + m[3])
	}
	return ok, rows
}

// "Test connection" makes real signed calls to the simulator: it succeeds
// with the right keys and names the signature problem with wrong ones; a
// changed account gets a new client.
func TestAccountTestConnection(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const token = "tok-sandbox-4d2e6f"
	ts := MustSandbox(t, token, []string{"mch71000", "mch71001"}, []string{"mch71618"})
	owner := MustOwner(t, e)
	mchKey, wrongKey := MustKey(t, "mch_priv_pkcs1.pem"), MustKey(t, "ksim_priv_pkcs1.pem")
	ksherPub := string(ts.sb.KsherPublicKeyPEM())
	owner.get("/accounts/new")
	v3 := map[string]string{"name": "V3", "api_kind": "v3", "base_url": ts.srv.URL, "gateway_base_url": ts.srv.URL,
		"time_zone": "Asia/Bangkok", "mids": "mch71000 A\nmch71001 B", "private_key": mchKey, "ksher_public_key": ksherPub, "sandbox": "1"}
	if resp, body := owner.postForm("/accounts", v3); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create v3 = %d\n%s", resp.StatusCode, body)
	}
	acc := accountByName(t, e.store, "V3")
	path := "/accounts/" + strconv.FormatInt(acc.ID, 10)

	// htmx: the result partial, one verified answer per mid.
	resp, body := owner.htmxPost(path + "/test")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") {
		t.Fatalf("htmx test = %d (whole page: %v)", resp.StatusCode, strings.Contains(body, "<html"))
	}
	ok, rows := testRows(body)
	if ok != "true" || rows["mch71000"] != "" || rows["mch71001"] != "" || len(rows) != 2 {
		t.Fatalf("v3 test: ok=%s rows=%v\n%s", ok, rows, body)
	}
	if n := ts.sb.Calls("merchant_info"); n != 2 {
		t.Errorf("merchant_info calls = %d, want 2 (one per mid)", n)
	}
	if !strings.Contains(body, " ms") {
		t.Error("no latency shown")
	}
	at := auditOf(t, e.store, models.AuditAccountTest)
	if len(at) != 1 || !strings.Contains(string(at[0].Details), `"ok": true`) || at[0].Target != "V3" {
		t.Errorf("account_test audit = %+v", at)
	}

	// Without the simulator's public key, Ksher's published key does not
	// verify the answers: a signature error, nothing trusted.
	v3["ksher_public_key"], v3["clear_ksher_public_key"], v3["private_key"] = "", "1", ""
	if resp, _ := owner.postForm(path, v3); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit = %d", resp.StatusCode)
	}
	_, body = owner.htmxPost(path + "/test")
	if ok, rows := testRows(body); ok != "false" || rows["mch71000"] != "bad_signature" {
		t.Errorf("wrong Ksher key: ok=%s rows=%v", ok, rows)
	}
	if !strings.Contains(body, "Signature error") {
		t.Error("the signature error is not named")
	}

	// A wrong merchant key: the simulator refuses the request's signature.
	v3["ksher_public_key"], v3["clear_ksher_public_key"], v3["key_mch71001"] = ksherPub, "", wrongKey
	owner.postForm(path, v3)
	_, body = owner.htmxPost(path + "/test")
	ok, rows = testRows(body)
	if ok != "false" || rows["mch71000"] != "" || !strings.HasPrefix(rows["mch71001"], "api ") {
		t.Errorf("wrong merchant key of mch71001: ok=%s rows=%v", ok, rows)
	}
	if !strings.Contains(rows["mch71001"], "SIGN") {
		t.Errorf("Ksher's code for a bad request signature is not shown: %q", rows["mch71001"])
	}
	at = auditOf(t, e.store, models.AuditAccountTest)
	if len(at) != 3 || !strings.Contains(string(at[0].Details), `"ok": false`) || !strings.Contains(string(at[0].Details), "SIGN") {
		t.Errorf("failed test not audited with the code: %+v", at[0])
	}

	// A plain form post gets the whole account page with the result.
	resp, body = owner.postForm(path+"/test", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="account-form"`) || !strings.Contains(body, `data-testid="account-test-result"`) {
		t.Errorf("plain test = %d, want the account page with the result", resp.StatusCode)
	}

	// vip: the channel list of each mid, signed with the token.
	vip := map[string]string{"name": "VIP", "api_kind": "vip", "base_url": ts.srv.URL, "time_zone": "Asia/Bangkok", "mids": "mch71618 Online", "token": token}
	owner.postForm("/accounts", vip)
	vipPath := "/accounts/" + strconv.FormatInt(accountByName(t, e.store, "VIP").ID, 10)
	_, body = owner.htmxPost(vipPath + "/test")
	if ok, rows := testRows(body); ok != "true" || rows["mch71618"] != "" {
		t.Errorf("vip test: ok=%s rows=%v\n%s", ok, rows, body)
	}
	vip["token"] = "tok-wrong"
	owner.postForm(vipPath, vip)
	_, body = owner.htmxPost(vipPath + "/test")
	if ok, rows := testRows(body); ok != "false" || rows["mch71618"] == "" {
		t.Errorf("vip with a wrong token: ok=%s rows=%v", ok, rows)
	}

	// Nothing answers at the account's URL: a transport error, not a 500.
	owner.postForm("/accounts", map[string]string{"name": "Down", "api_kind": "vip", "base_url": "http://127.0.0.1:1", "mids": "mch71700", "token": "t"})
	resp, body = owner.htmxPost("/accounts/" + strconv.FormatInt(accountByName(t, e.store, "Down").ID, 10) + "/test")
	if ok, rows := testRows(body); resp.StatusCode != http.StatusOK || ok != "false" || rows["mch71700"] != "transport" {
		t.Errorf("unreachable: %d ok=%s rows=%v", resp.StatusCode, ok, rows)
	}
	if resp, _ := owner.htmxPost("/accounts/424242/test"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account = %d, want 404", resp.StatusCode)
	}
}
