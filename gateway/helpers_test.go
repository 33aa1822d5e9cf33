package gateway_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
)

const (
	testdata = "../testdata/ksher"
	testMid  = "mch35000"
	vipToken = "test-token-0123456789abcdef"
)

// MustPrivateKey reads a PEM private key from testdata/ksher/keys.
func MustPrivateKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePrivateKey(b)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustPublicKey reads a PEM public key from testdata/ksher/keys.
func MustPublicKey(tb testing.TB, name string) *rsa.PublicKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ksign.ParsePublicKey(b)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustLoadJSON decodes a testdata file with UseNumber.
func MustLoadJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatal(err)
	}
}

// MustJSON encodes v without HTML escaping.
func MustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Unix(1704110460, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ---------------------------------------------------------------- fake v3 Ksher

// v3Req is one request the fake v3 server received (signature verified).
type v3Req struct {
	Path   string
	Op     string
	Body   string
	Fields url.Values
	Header http.Header
}

// v3Reply is what the fake v3 server answers.
type v3Reply struct {
	Status int            // HTTP status (default 200)
	Code   int            // envelope code
	Msg    string         // envelope msg
	Data   map[string]any // signed data (nonce_str echoed unless set)
	Raw    []byte         // sent verbatim when set
	Tamper func([]byte) []byte
	Delay  time.Duration
}

type v3Server struct {
	t         testing.TB
	srv       *httptest.Server
	mchPub    *rsa.PublicKey
	ksherPriv *rsa.PrivateKey
	mu        sync.Mutex
	reqs      []v3Req
	counts    map[string]int
	handler   func(op string, f url.Values, n int) v3Reply
}

func newV3Server(t testing.TB, handler func(op string, f url.Values, n int) v3Reply) *v3Server {
	s := &v3Server{t: t, mchPub: MustPublicKey(t, "mch_pub_spki.pem"), ksherPriv: MustPrivateKey(t, "ksim_priv_pkcs1.pem"),
		counts: map[string]int{}, handler: handler}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *v3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		s.t.Errorf("v3 request %s %s content-type %q, want POST form", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		s.t.Errorf("ParseForm: %v", err)
	}
	fields := map[string]any{}
	for k := range r.PostForm {
		fields[k] = r.PostForm.Get(k)
	}
	if err := ksign.V3Verify(s.mchPub, fields, r.PostForm.Get("sign")); err != nil {
		s.t.Errorf("request to %s: merchant signature does not verify: %v", r.URL.Path, err)
	}
	op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	s.mu.Lock()
	s.reqs = append(s.reqs, v3Req{Path: r.URL.Path, Op: op, Body: string(body), Fields: r.PostForm, Header: r.Header.Clone()})
	s.counts[op]++
	n := s.counts[op]
	s.mu.Unlock()
	rep := s.handler(op, r.PostForm, n)
	if rep.Delay > 0 {
		time.Sleep(rep.Delay)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	out := rep.Raw
	if out == nil {
		data := map[string]any{"result": "SUCCESS"}
		if _, ok := rep.Data["nonce_str"]; !ok && op != "gateway_pay" {
			data["nonce_str"] = r.PostForm.Get("nonce_str")
		}
		for k, v := range rep.Data {
			data[k] = v
		}
		sign, err := ksign.V3Sign(s.ksherPriv, ksign.V3ResponseSubset(op, data))
		if err != nil {
			s.t.Fatal(err)
		}
		msg := rep.Msg
		if msg == "" {
			msg = "ok"
		}
		out = MustJSON(s.t, map[string]any{"code": rep.Code, "msg": msg, "data": data, "sign": sign, "version": "3.0.0", "status_code": "", "status_msg": ""})
	}
	if rep.Tamper != nil {
		out = rep.Tamper(out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	w.Write(out)
}

func (s *v3Server) Requests() []v3Req {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]v3Req(nil), s.reqs...)
}

func (s *v3Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// newV3Client builds a v3 client against s with no sleeps.
func newV3Client(t testing.TB, s *v3Server, clk *fakeClock, opts ...gateway.Option) *gateway.Client {
	t.Helper()
	cfg := gateway.Config{
		Kind:           gateway.APIV3,
		Account:        "acct-1",
		Credentials:    map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs1.pem")}},
		KsherPublicKey: MustPublicKey(t, "ksim_pub_pkcs1.pem"),
	}
	base := []gateway.Option{
		gateway.WithBaseURL(s.srv.URL),
		gateway.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}),
		gateway.WithNoSleep(),
		gateway.WithClock(clk.Now),
		gateway.WithLogger(discardLogger()),
	}
	c, err := gateway.New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ---------------------------------------------------------------- fake vip gateway

// vipReq is one request the fake vip gateway received (signature verified).
type vipReq struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
	Fields map[string]any
	Header http.Header
}

// vipReply is what the fake vip gateway answers.
type vipReply struct {
	Status int
	Obj    map[string]any // signed (timestamp echoed unless set)
	Raw    []byte
	NoSign bool
	Tamper func([]byte) []byte
	Delay  time.Duration
}

type vipServer struct {
	t       testing.TB
	srv     *httptest.Server
	token   string
	prefix  string
	mu      sync.Mutex
	reqs    []vipReq
	counts  map[string]int
	handler func(r vipReq, n int) vipReply
}

func newVIPServer(t testing.TB, prefix string, handler func(r vipReq, n int) vipReply) *vipServer {
	s := &vipServer{t: t, token: vipToken, prefix: prefix, counts: map[string]int{}, handler: handler}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *vipServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := vipReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Fields: map[string]any{}, Header: r.Header.Clone()}
	var sig string
	if r.Method == http.MethodGet {
		for k := range req.Query {
			req.Fields[k] = req.Query.Get(k)
		}
		if len(body) > 0 {
			s.t.Errorf("GET %s has a body", r.URL.Path)
		}
	} else {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			s.t.Errorf("%s %s content-type %q, want application/json", r.Method, r.URL.Path, ct)
		}
		m, err := ksign.DecodeObject(body)
		if err != nil {
			s.t.Errorf("%s %s body: %v", r.Method, r.URL.Path, err)
		}
		req.Fields = m
		if len(r.URL.RawQuery) > 0 {
			s.t.Errorf("%s %s has a query string", r.Method, r.URL.Path)
		}
	}
	sig, _ = req.Fields["signature"].(string)
	delete(req.Fields, "signature")
	if err := ksign.VIPVerify(s.token, r.URL.Path, req.Fields, sig); err != nil {
		s.t.Errorf("%s %s: request signature does not verify over the path sent", r.Method, r.URL.Path)
	}
	if !strings.HasPrefix(r.URL.Path, s.prefix+"/api/v1/") {
		s.t.Errorf("path %q lacks prefix %q", r.URL.Path, s.prefix+"/api/v1/")
	}
	key := r.Method + " " + strings.TrimPrefix(r.URL.Path, s.prefix)
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.counts[key]++
	n := s.counts[key]
	s.mu.Unlock()
	rep := s.handler(req, n)
	if rep.Delay > 0 {
		time.Sleep(rep.Delay)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	out := rep.Raw
	if out == nil {
		obj := map[string]any{}
		for k, v := range rep.Obj {
			obj[k] = v
		}
		if _, ok := obj["timestamp"]; !ok {
			obj["timestamp"] = req.Fields["timestamp"]
		}
		if !rep.NoSign {
			obj["signature"] = ksign.VIPSign(s.token, r.URL.Path, obj)
		}
		out = MustJSON(s.t, obj)
	}
	if rep.Tamper != nil {
		out = rep.Tamper(out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	w.Write(out)
}

func (s *vipServer) Requests() []vipReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]vipReq(nil), s.reqs...)
}

func (s *vipServer) Count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key]
}

func newVIPClient(t testing.TB, s *vipServer, clk *fakeClock, mids []string, opts ...gateway.Option) *gateway.Client {
	t.Helper()
	cfg := gateway.Config{Kind: gateway.APIVIP, Account: "acct-2", Token: s.token, Mids: mids}
	base := []gateway.Option{
		gateway.WithBaseURL(s.srv.URL + s.prefix),
		gateway.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}),
		gateway.WithNoSleep(),
		gateway.WithClock(clk.Now),
		gateway.WithLogger(discardLogger()),
	}
	c, err := gateway.New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// vipOrderObj is a server-style order object.
func vipOrderObj(id string, amount int64, status, code string) map[string]any {
	return map[string]any{
		"merchant_order_id": id, "gateway_order_id": "sim1", "id": "1", "acquirer": "Ksher", "acquirer_order_id": "",
		"channel_order_id": "", "channel": "", "amount": amount, "currency": "THB", "status": status, "error_code": code,
		"error_message": code, "order_type": "Sale", "order_date": "2024-01-01 12:00:00.000000", "api_name": "Redirect",
		"reference": "https://gateway.example/ua?order_uuid=1", "reserved1": "", "reserved2": "False", "reserved3": "False",
		"reserved4": "False", "mid": "False", "note": "", "locked": false, "cleared": false, "force_clear": false,
	}
}

// flipInBody changes one byte of the first occurrence of s in a body.
func flipInBody(s string) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte(s))
		if i < 0 {
			return b
		}
		out := bytes.Clone(b)
		out[i] ^= 0x01
		return out
	}
}

// errKind extracts the gateway error kind ("" if not a *gateway.Error).
func errKind(err error) gateway.ErrorKind {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return ge.Kind
	}
	return ""
}
