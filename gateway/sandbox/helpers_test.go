package sandbox_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

const (
	testAppID = "mch35000"
	testToken = "test-token-0123456789abcdef"
	testMid   = "mch35618"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// MustPrivateKey reads a PEM private key from testdata.
func MustPrivateKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePrivateKey(b)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustPublicKey reads a PEM public key from testdata.
func MustPublicKey(tb testing.TB, name string) *rsa.PublicKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePublicKey(b)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// env is one sandbox behind a real HTTP server, with a merchant's keys.
type env struct {
	t      testing.TB
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	clock  *clock
	mkey   *rsa.PrivateKey
	kpub   *rsa.PublicKey
	cfg    sandbox.Config
	prefix string // mount prefix of srv ("" = root)
	nonce  int
}

// start2024 is the default clock start: a Wednesday, 10:00 Bangkok.
var start2024 = time.Date(2024, 1, 3, 3, 0, 0, 0, time.UTC)

// MustEnv starts a sandbox with appid mch35000 (the test merchant key),
// token testToken and mid mch35618. opts may change the config.
func MustEnv(tb testing.TB, opts ...func(*sandbox.Config)) *env {
	tb.Helper()
	return MustEnvAt(tb, "", opts...)
}

// MustEnvAt is MustEnv with the sandbox mounted under prefix through
// http.StripPrefix.
func MustEnvAt(tb testing.TB, prefix string, opts ...func(*sandbox.Config)) *env {
	tb.Helper()
	e := &env{t: tb, clock: &clock{t: start2024}, mkey: MustPrivateKey(tb, "mch_priv_pkcs1.pem"),
		kpub: MustPublicKey(tb, "ksim_pub_pkcs1.pem"), prefix: prefix}
	e.cfg = sandbox.Config{
		AppIDs:      map[string]*rsa.PublicKey{testAppID: MustPublicKey(tb, "mch_pub_spki.pem")},
		KsherKey:    MustPrivateKey(tb, "ksim_priv_pkcs1.pem"),
		Token:       testToken,
		Mids:        []string{testMid, "mch35619"},
		SpeedFactor: 0.001,
		Now:         e.clock.Now,
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	sb, err := sandbox.New(e.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	e.sb = sb
	var h http.Handler = sb
	if e.prefix != "" {
		h = http.StripPrefix(e.prefix, sb)
	}
	e.srv = httptest.NewServer(h)
	tb.Cleanup(func() {
		e.srv.Close()
		if err := sb.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return e
}

func (e *env) url(path string) string { return e.srv.URL + e.prefix + path }

// v3Path is where op lives.
func v3Path(op string) string {
	switch op {
	case "gateway_pay", "gateway_order_query", "cancel_order":
		return "/api/" + op
	}
	return "/KsherPay/" + op
}

// signV3 adds appid, nonce_str, time_stamp and sign to fields.
func (e *env) signV3(fields map[string]string) url.Values {
	e.t.Helper()
	f := map[string]any{}
	if _, ok := fields["appid"]; !ok {
		fields["appid"] = testAppID
	}
	if _, ok := fields["nonce_str"]; !ok {
		e.nonce++
		fields["nonce_str"] = fmt.Sprintf("nonce%04d", e.nonce)
	}
	if _, ok := fields["time_stamp"]; !ok {
		fields["time_stamp"] = "20240103100000"
	}
	for k, v := range fields {
		f[k] = v
	}
	sign, err := ksign.V3Sign(e.mkey, f)
	if err != nil {
		e.t.Fatal(err)
	}
	vals := url.Values{}
	for k, v := range fields {
		vals.Set(k, v)
	}
	vals.Set("sign", sign)
	return vals
}

// v3Post POSTs signed form fields and returns the raw answer.
func (e *env) v3Post(op string, vals url.Values) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.Post(e.url(v3Path(op)), "application/x-www-form-urlencoded", strings.NewReader(vals.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// v3 calls op with signed fields, checks the envelope and the response
// signature and returns the envelope and its data.
func (e *env) v3(op string, fields map[string]string) (map[string]any, map[string]any) {
	e.t.Helper()
	resp, b := e.v3Post(op, e.signV3(fields))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s: HTTP %d: %s", op, resp.StatusCode, b)
	}
	env := MustDecode(e.t, b)
	e.checkV3Envelope(op, env)
	return env, env["data"].(map[string]any)
}

// checkV3Envelope checks the A.1 envelope and verifies its signature.
func (e *env) checkV3Envelope(op string, env map[string]any) {
	e.t.Helper()
	if c, _ := env["code"].(json.Number); c.String() != "0" {
		e.t.Errorf("%s: code = %v, want 0", op, env["code"])
	}
	if env["version"] != "3.0.0" {
		e.t.Errorf("%s: version = %v", op, env["version"])
	}
	for _, k := range []string{"msg", "status_code", "status_msg", "sign"} {
		if _, ok := env[k]; !ok {
			e.t.Errorf("%s: envelope has no %s", op, k)
		}
	}
	gw := strings.HasPrefix(v3Path(op), "/api/")
	if gw {
		if env["message"] != "SUCCESS" {
			e.t.Errorf("%s: message = %v, want SUCCESS", op, env["message"])
		}
	} else {
		ts, _ := env["time_stamp"].(string)
		if !strings.HasSuffix(ts, "+08:00") {
			e.t.Errorf("%s: time_stamp = %q, want +08:00", op, ts)
		}
	}
	data, ok := env["data"].(map[string]any)
	if !ok {
		e.t.Fatalf("%s: no data object", op)
	}
	sign, _ := env["sign"].(string)
	if err := ksign.V3Verify(e.kpub, ksign.V3ResponseSubset(op, data), sign); err != nil {
		e.t.Errorf("%s: response signature: %v", op, err)
	}
}

// MustDecode decodes a JSON object keeping numbers exact.
func MustDecode(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	m, err := ksign.DecodeObject(b)
	if err != nil {
		tb.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// vipCall signs fields over path (relative to the sandbox root, or
// signPath when set) and sends them: JSON body for POST/PUT/DELETE, query
// string for GET. It verifies the signature of 200 answers.
func (e *env) vipCall(method, path string, fields map[string]any) (int, map[string]any) {
	e.t.Helper()
	return e.vipCallSigned(method, path, path, fields)
}

func (e *env) vipCallSigned(method, path, signPath string, fields map[string]any) (int, map[string]any) {
	e.t.Helper()
	if _, ok := fields["timestamp"]; !ok {
		fields["timestamp"] = "1704250800"
	}
	fields["signature"] = ksign.VIPSign(testToken, signPath, fields)
	var req *http.Request
	var err error
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range fields {
			q.Set(k, fmt.Sprint(v))
		}
		req, err = http.NewRequest(method, e.url(path)+"?"+q.Encode(), nil)
	} else {
		b, _ := json.Marshal(fields)
		req, err = http.NewRequest(method, e.url(path), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	}
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := MustDecode(e.t, b)
	if resp.StatusCode == http.StatusOK {
		sig, _ := body["signature"].(string)
		if err := ksign.VIPVerify(testToken, signPath, body, sig); err != nil {
			e.t.Errorf("%s %s: response signature: %v (%s)", method, path, err, b)
		}
	}
	return resp.StatusCode, body
}

// num reads a JSON number field as int64.
func num(tb testing.TB, m map[string]any, k string) int64 {
	tb.Helper()
	switch v := m[k].(type) {
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			tb.Fatalf("%s = %v: %v", k, v, err)
		}
		return n
	case string:
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil {
			tb.Fatalf("%s = %q is not a number", k, v)
		}
		return n
	}
	tb.Fatalf("%s = %#v is not a number", k, m[k])
	return 0
}
