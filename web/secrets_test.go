package web

import (
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// Acceptance: credentials never appear in any HTML response or log line.
// Accounts with a distinctive token and a real PEM private key are saved
// through the form; then every GET route of the route table is walked as
// the owner, the account pages and the test-connection answers are
// fetched, a refused form is re-rendered, and every response (body and
// headers) and the debug log are searched for the token, each line of the
// PEM body and the key's base64.
func TestSecretsNeverShownOrLogged(t *testing.T) {
	e := newTestEnv(t)
	const token = "tok-NEVER-SHOW-8c1f4e2a9b7d"
	keyPEM := MustKey(t, "mch_priv_pkcs1.pem")
	ts := MustSandbox(t, token, []string{"mch90000", "mch90001"}, []string{"mch90618"})
	owner := MustOwner(t, e)

	var responses []string
	record := func(what string, resp *http.Response, body string) {
		var h strings.Builder
		for k, vs := range resp.Header {
			h.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		responses = append(responses, what+"\n"+h.String()+"\n"+body)
	}
	get := func(path string) (*http.Response, string) {
		resp, body := owner.get(path)
		record("GET "+path, resp, body)
		return resp, body
	}
	post := func(path string, fields map[string]string) (*http.Response, string) {
		resp, body := owner.postForm(path, fields)
		record("POST "+path, resp, body)
		return resp, body
	}

	// Save the accounts through the form, and have a refused one re-rendered.
	get("/accounts/new")
	v3 := map[string]string{"name": "Secret v3", "api_kind": "v3", "base_url": ts.srv.URL, "gateway_base_url": ts.srv.URL,
		"time_zone": "Asia/Bangkok", "mids": "mch90000 A\nmch90001 B", "private_key": keyPEM, "key_mch90001": keyPEM,
		"ksher_public_key": string(ts.sb.KsherPublicKeyPEM())}
	vip := map[string]string{"name": "Secret vip", "api_kind": "vip", "base_url": ts.srv.URL, "time_zone": "Asia/Bangkok",
		"mids": "mch90618 Online", "token": token}
	for _, form := range []map[string]string{v3, vip} {
		bad := map[string]string{"name": ""}
		for k, v := range form {
			if k != "name" {
				bad[k] = v
			}
		}
		if resp, _ := post("/accounts", bad); resp.StatusCode != http.StatusOK {
			t.Fatalf("refused form = %d, want 200", resp.StatusCode)
		}
		if resp, body := post("/accounts", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s = %d\n%s", form["name"], resp.StatusCode, body)
		}
	}
	accounts := []*models.MerchantAccount{accountByName(t, e.store, "Secret v3"), accountByName(t, e.store, "Secret vip")}

	// The needles must be what is really stored, or the search proves nothing.
	needles := map[string]string{"token": token, "token base64": base64.StdEncoding.EncodeToString([]byte(token))}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		t.Fatal("test key is not PEM")
	}
	needles["key base64 (DER)"] = base64.StdEncoding.EncodeToString(block.Bytes)
	needles["PEM base64"] = base64.StdEncoding.EncodeToString([]byte(keyPEM))
	for i, line := range strings.Split(keyPEM, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 12 && !strings.HasPrefix(line, "-----") {
			needles["PEM line "+strconv.Itoa(i)] = line
		}
	}
	if len(needles) < 8 {
		t.Fatalf("only %d needles", len(needles))
	}
	v3Creds, vipCreds := mustCredentials(t, e.store, accounts[0]), mustCredentials(t, e.store, accounts[1])
	if vipCreds.Token != token || !strings.Contains(v3Creds.PrivateKeys["mch90001"], needles["PEM line 1"]) {
		t.Fatal("the stored credentials are not the needles")
	}

	// Edit without secrets, then test the connections (htmx and plain).
	for i, a := range accounts {
		path := "/accounts/" + strconv.FormatInt(a.ID, 10)
		get(path)
		form := map[string]string{"name": a.Name + " (edited)", "api_kind": a.APIKind, "base_url": a.BaseURL,
			"gateway_base_url": a.GatewayBaseURL, "time_zone": a.TimeZone, "mids": []string{v3["mids"], vip["mids"]}[i]}
		if resp, _ := post(path, form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit %s = %d", path, resp.StatusCode)
		}
		req := httptest.NewRequest(http.MethodPost, path+"/test", nil)
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", owner.csrf)
		resp, body := owner.do(req)
		record("POST (htmx) "+path+"/test", resp, body)
		if ok, rows := testRows(body); ok != "true" {
			t.Errorf("test connection of %s: ok=%s rows=%v", a.Name, ok, rows)
		}
		post(path+"/test", nil)
	}
	// A connection that fails (a key the simulator does not know) has its
	// error page walked too.
	v3["name"], v3["mids"], v3["private_key"], v3["key_mch90001"] = "Secret v3 unknown", "mch90777", keyPEM, ""
	post("/accounts", v3)
	post("/accounts/"+strconv.FormatInt(accountByName(t, e.store, "Secret v3 unknown").ID, 10)+"/test", nil)

	// Walk every GET route of the table as the owner: each :mid as a mid of
	// the accounts and as "all", any other parameter as each account id.
	ids := []string{"1"}
	for _, a := range accounts {
		ids = append(ids, strconv.FormatInt(a.ID, 10))
	}
	walked := map[string]int{}
	for _, rule := range RouteTable(e.app) {
		if rule.Method != fiber.MethodGet {
			continue
		}
		paths := []string{rule.Path}
		if strings.Contains(rule.Path, ":mid") {
			paths = nil
			for _, mid := range []string{"mch90000", "mch90618", "all"} {
				paths = append(paths, strings.Replace(rule.Path, ":mid", mid, 1))
			}
		}
		for _, p := range paths {
			for _, id := range ids {
				path := paramRe.ReplaceAllString(p, id)
				resp, _ := get(path)
				walked[rule.Path] = resp.StatusCode
				if !paramRe.MatchString(p) {
					break
				}
			}
		}
	}
	for _, must := range []string{"/accounts", "/accounts/new", "/accounts/:id", "/audit", "/m/:mid"} {
		if walked[must] != http.StatusOK {
			t.Errorf("walk: %s = %d, want 200", must, walked[must])
		}
	}
	t.Logf("walked %d GET routes; searched %d responses and %d bytes of log", len(walked), len(responses), e.logs.Len())
	_, auditPage := get("/audit?action=" + url.QueryEscape(models.AuditCredentialChange))
	if !strings.Contains(auditPage, accounts[1].CredentialsFingerprint) {
		t.Error("the audit log lacks the credential change (so the walk missed what it should search)")
	}

	logs := e.logs.String()
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "ksher request") {
		t.Error("the captured log has no debug lines of the gateway: the search would prove nothing")
	}
	for name, needle := range needles {
		for _, r := range responses {
			if strings.Contains(r, needle) {
				t.Errorf("%s appears in the response to %s", name, strings.SplitN(r, "\n", 2)[0])
			}
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, needle) {
				t.Errorf("%s appears in a log line", name)
				break
			}
		}
	}
}
