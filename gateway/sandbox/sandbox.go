// Package sandbox is a faithful simulator of Ksher's two payment APIs: the
// v3 "KsherPay" API (RSA-MD5 signatures, /KsherPay/<operation> and
// /api/gateway_pay...) and the legacy *.vip.ksher.net "Payment API
// Gateway" (HMAC-SHA256, /api/v1/...), as described in the project's
// ksher/API.md.
//
// It speaks the same paths, fields, envelopes and signatures in both
// directions, keeps orders, refunds and settlements consistent, serves a
// hosted checkout page (/ua?order_uuid=...), sends notifications with
// Ksher's retry schedules, and lets tests inject faults at run time. The
// dashboard mounts it at /sandbox in sandbox mode; RunCLI runs it alone.
// README.md beside this file documents every endpoint and every choice made
// where Ksher's behaviour is UNCONFIRMED.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Sandbox.
type Config struct {
	// AppIDs maps each v3 appid (mch35000) to the merchant public key that
	// verifies its requests.
	AppIDs map[string]*rsa.PublicKey
	// KsherKey signs v3 responses and notifications. Required when AppIDs is
	// not empty.
	KsherKey *rsa.PrivateKey
	// Token is the vip HMAC token; empty disables the vip API.
	Token string
	// Mids are the vip sub-merchants (mch35618). v3 appids double as mids in
	// settlement reports.
	Mids []string
	// StateFile is where the state is persisted as JSON ("" = in memory).
	StateFile string
	// PublicURL is the absolute URL where the sandbox is reachable, used in
	// pay_content and reference links (http://127.0.0.1:8080/sandbox). Empty:
	// derived from each request's Host and mount prefix.
	PublicURL string
	// WebhookURL is the vip webhook target (configured per merchant in the
	// real back office); it can be changed at run time.
	WebhookURL string
	// SpeedFactor multiplies notification retry delays (tests use 0.001).
	// Zero means 1.
	SpeedFactor float64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HTTPClient sends notifications; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; default slog.Default().
	Logger *slog.Logger
	// LocalControlOnly makes the simulator itself refuse its control
	// endpoints (/_sandbox/...) to callers that are not on this machine
	// (RemoteAddr not a loopback address: 404), and their state-changing
	// methods to a browser on another site (Sec-Fetch-Site, Origin: 403),
	// whatever spelling of the path reached it. Ksher's own paths stay open.
	// The dashboard's mount sets it and hands the simulator the resolved
	// client (not a proxy) as RemoteAddr; `ksherdash sandbox` alone leaves
	// it off, as documented.
	LocalControlOnly bool
}

// Sandbox is a running Ksher simulator. It is an http.Handler; create it
// with New and stop it with Close.
type Sandbox struct {
	cfg       Config
	log       *slog.Logger
	prefix    string // path part of PublicURL, without trailing slash
	client    *http.Client
	pubPEM    []byte
	pages     *template.Template
	faults    *faultSet
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	logSeq    atomic.Int64 // numbers of log_entry_url links

	mu     sync.Mutex // guards st and calls
	st     *state
	calls  map[string]int
	closed bool
}

// New builds a sandbox, loading StateFile when it exists, and starts its
// background workers (notification delivery and order expiry).
func New(cfg Config) (*Sandbox, error) {
	if len(cfg.AppIDs) > 0 && cfg.KsherKey == nil {
		return nil, errors.New("sandbox: KsherKey is required when AppIDs are set")
	}
	for id, k := range cfg.AppIDs {
		if k == nil {
			return nil, fmt.Errorf("sandbox: appid %s has no public key", id)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SpeedFactor <= 0 {
		cfg.SpeedFactor = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Sandbox{cfg: cfg, log: cfg.Logger, client: client, faults: newFaultSet(), calls: map[string]int{}}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("sandbox: PublicURL %q is not an absolute URL", cfg.PublicURL)
		}
		s.cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
		s.prefix = strings.TrimRight(u.Path, "/")
	}
	if cfg.KsherKey != nil {
		s.pubPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&cfg.KsherKey.PublicKey)})
	}
	st, err := loadState(cfg.StateFile)
	if err != nil {
		return nil, err
	}
	s.st = st
	if cfg.WebhookURL != "" {
		s.st.WebhookURL = cfg.WebhookURL
	}
	s.pages, err = parsePages()
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	s.resumeNotifications()
	s.save()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.sweeper()
	return s, nil
}

// Close stops the notification workers and the expiry sweeper, waits for
// them and writes the state a last time. It is safe to call twice.
func (s *Sandbox) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closed = true
		if s.cfg.StateFile != "" {
			err = writeState(s.cfg.StateFile, s.st)
		}
	})
	return err
}

func (s *Sandbox) now() time.Time { return s.cfg.Now() }

// ServeHTTP routes a request. The sandbox works at "/" and under a prefix,
// either stripped by http.StripPrefix or kept in the path when it is the
// path of Config.PublicURL.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := s.routePath(r)
	switch {
	case p == "/":
		s.serveIndex(w, r)
	case p == "/ksher_pubkey.pem":
		s.servePubKey(w, r)
	case strings.HasPrefix(p, "/KsherPay/"):
		s.serveV3(w, r, strings.TrimPrefix(p, "/KsherPay/"), false)
	case p == "/api/gateway_pay" || p == "/api/gateway_order_query" || p == "/api/cancel_order":
		s.serveV3(w, r, strings.TrimPrefix(p, "/api/"), true)
	case strings.HasPrefix(p, "/api/v1/"):
		s.serveVIP(w, r, p)
	case p == "/ua":
		s.serveCheckout(w, r)
	case p == "/ua.css":
		serveCSS(w)
	case strings.HasPrefix(p, "/_sandbox/"):
		// Checked here, where the request is dispatched, so no routing
		// quirk in front (an encoded or uncleaned path) can skip it.
		if status := s.controlRefused(r); status != 0 {
			writeErr(w, status, http.StatusText(status))
			return
		}
		s.serveAdmin(w, r, strings.TrimPrefix(p, "/_sandbox/"))
	default:
		http.NotFound(w, r)
	}
}

// controlRefused is the status that refuses r a control endpoint under
// Config.LocalControlOnly, or 0 when r may have it.
func (s *Sandbox) controlRefused(r *http.Request) int {
	if !s.cfg.LocalControlOnly {
		return 0
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return http.StatusNotFound
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return 0
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return http.StatusForbidden
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return http.StatusForbidden
		}
	}
	return 0
}

// routePath is the request path relative to the sandbox root.
func (s *Sandbox) routePath(r *http.Request) string {
	p := r.URL.Path
	if s.prefix != "" && (p == s.prefix || strings.HasPrefix(p, s.prefix+"/")) {
		p = strings.TrimPrefix(p, s.prefix)
	}
	if p == "" {
		p = "/"
	}
	return p
}

// receivedPath is the path the client actually sent (before any
// http.StripPrefix), decoded.
func receivedPath(r *http.Request) string {
	if r.RequestURI != "" && strings.HasPrefix(r.RequestURI, "/") {
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		if p, err := url.PathUnescape(raw); err == nil {
			return p
		}
		return raw
	}
	return r.URL.Path
}

// baseURL is the absolute URL of the sandbox root as seen by the client.
func (s *Sandbox) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if fp := r.Header.Get("X-Forwarded-Proto"); fp == "https" || fp == "http" {
		scheme = fp
	}
	full, route := receivedPath(r), s.routePath(r)
	mount := ""
	if strings.HasSuffix(full, route) {
		mount = strings.TrimSuffix(full, route)
	}
	return scheme + "://" + r.Host + mount
}

func (s *Sandbox) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "ksherdash Ksher sandbox\n\nv3:  %[1]s/KsherPay/<operation>, %[1]s/api/gateway_pay\nvip: %[1]s/api/v1/<kind>/orders\nKsher public key: %[1]s/ksher_pubkey.pem\ncontrol: %[1]s/_sandbox/faults, /_sandbox/calls, /_sandbox/pay, /_sandbox/config\n", s.baseURL(r))
}

func (s *Sandbox) servePubKey(w http.ResponseWriter, r *http.Request) {
	if s.pubPEM == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.pubPEM)
}

// KsherPublicKeyPEM returns the public half of Config.KsherKey as a PKCS#1
// PEM ("RSA PUBLIC KEY"), the form Ksher's SDKs load; nil without a key.
func (s *Sandbox) KsherPublicKeyPEM() []byte { return bytes.Clone(s.pubPEM) }

// reply is a response before fault injection and encoding.
type reply struct {
	status   int
	obj      map[string]any // JSON object body
	raw      []byte         // other bodies
	ctype    string
	signKey  string // "sign" or "signature": what bad_signature corrupts
	location string // redirect target
}

// countCall records one call of op. op comes from the request path, which
// may share memory with the server's request buffer (fasthttp through
// Fiber's adaptor reuses it once the request is done): the key kept in the
// map must be a copy, or the counters' names change under it.
func (s *Sandbox) countCall(op string) {
	s.mu.Lock()
	s.calls[strings.Clone(op)]++
	s.mu.Unlock()
}

// Calls returns how many requests reached op ("order_query",
// "vip.redirect.create", ...; see README.md), including rejected ones.
func (s *Sandbox) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ResetCalls sets every call counter to zero.
func (s *Sandbox) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// run counts the call, applies the fault planned for op (if any) around
// the handler h and writes the reply. limited builds the API's own
// rate-limit answer.
func (s *Sandbox) run(w http.ResponseWriter, r *http.Request, op string, limited func() *reply, h func() *reply) {
	s.countCall(op)
	f := s.faults.take(op)
	s.log.Debug("Sandbox call.", "op", op, "method", r.Method, "fault", f != nil)
	if f != nil {
		switch f.Kind {
		case FaultLatency:
			if !s.sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond) {
				return
			}
		case FaultRateLimit:
			s.write(w, limited())
			return
		case FaultTimeout, Fault5xx:
			if !f.Processed {
				s.failHTTP(w, r, f)
				return
			}
		case FaultReset:
			if !f.Processed {
				resetConn(w)
				return
			}
		}
	}
	rep := h()
	if f != nil {
		switch f.Kind {
		case FaultTimeout, Fault5xx:
			s.failHTTP(w, r, f)
			return
		case FaultReset:
			resetConn(w)
			return
		case FaultMalformed:
			b := s.encode(rep)
			rep = &reply{status: http.StatusOK, raw: b[:len(b)/2], ctype: "application/json"}
		case FaultBadSignature:
			if rep.obj != nil && rep.signKey != "" {
				if sig, ok := rep.obj[rep.signKey].(string); ok {
					rep.obj[rep.signKey] = flipHex(sig)
				}
			}
		}
	}
	s.write(w, rep)
}

// failHTTP answers a 5xx fault or hangs for a timeout fault.
func (s *Sandbox) failHTTP(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.Kind == Fault5xx {
		st := f.Status
		if st < 500 || st > 599 {
			st = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(st)
		fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", st, http.StatusText(st), st, http.StatusText(st))
		return
	}
	// Timeout: hold the request until the client gives up (or LatencyMS,
	// default 60 s, passes), then drop the connection without an answer.
	d := time.Duration(f.LatencyMS) * time.Millisecond
	if d <= 0 {
		d = 60 * time.Second
	}
	s.sleep(r.Context(), d)
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection quietly
}

// sleep waits d unless the request or the sandbox ends first; it reports
// whether the full time passed.
func (s *Sandbox) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	return false
}

// encode renders a reply body.
func (s *Sandbox) encode(rep *reply) []byte {
	if rep.obj == nil {
		return rep.raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep.obj); err != nil {
		s.log.Error("Sandbox reply not encoded.", "error", err)
		return []byte(`{}`)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func (s *Sandbox) write(w http.ResponseWriter, rep *reply) {
	if rep.location != "" {
		w.Header().Set("Location", rep.location)
	}
	ct := rep.ctype
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	st := rep.status
	if st == 0 {
		st = http.StatusOK
	}
	body := s.encode(rep)
	w.WriteHeader(st)
	w.Write(body)
}

// flipHex changes one hex digit in the middle of sig (a bad signature that
// still looks like one).
func flipHex(sig string) string {
	if sig == "" {
		return "00"
	}
	b := []byte(sig)
	i := len(b) / 2
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

// readBody reads at most 1 MiB of the request body.
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return b
}
