// Package gateway is ksherdash's client for Ksher's two payment APIs,
// shaped like stripe-go: gateway.New returns a *Client with one service per
// resource (PaymentLinks, Orders, Refunds, Settlements, Transactions,
// Channels, Counter, Merchant, Notifications), each method taking
// (ctx, *XxxParams) and returning (*Xxx, error) or an iter.Seq2.
//
// The same surface drives both APIs, so the rest of ksherdash does not care
// which one an account uses:
//
//   - "v3" (KsherPay, api.mch.ksher.net and gateway.ksher.com): form POSTs
//     signed with the merchant's RSA key (RSA-MD5); every response is
//     verified with Ksher's public key before any field is used.
//   - "vip" (the legacy Payment API Gateway, https://<name>.vip.ksher.net):
//     JSON/query requests signed with HMAC-SHA256 and a per-merchant token;
//     responses verified the same way (Python-style value rendering).
//
// Every error is a *Error (errors.As) with a Kind. Reads are retried with
// capped, jittered exponential backoff; refunds are retried only by
// re-sending the identical request (same refund number); creates of
// payments and charges are never retried. Ksher's rule of no two queries of
// the same order within 10 seconds is enforced in-process.
//
// # Times
//
// Every time returned is a time.Time in UTC, the zero time when Ksher did
// not say, and dates are 00:00 UTC of the day. Ksher writes most times
// without a zone; the zone of each field is decided once, in times.go.
//
// # Errors
//
// Every method may return KindInvalidRequest (params rejected before
// sending), KindTransport, KindTimeout, KindAPI, KindBadSignature and
// KindRateLimited; methods an API cannot serve return KindUnsupported
// (errors.Is(err, ErrUnsupported)). Error texts never contain keys, tokens
// or signatures.
//
// Ksher's V1 response key is 512 bits and merchant keys are often 512 or
// 1024 bits: programs must set "godebug rsa1024min=0" in their go.mod
// (ksherdash does) for merchant keys below 1024 bits; response
// verification works without it (see package ksign).
package gateway

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// APIKind selects which Ksher API an account uses.
type APIKind string

// The two Ksher APIs.
const (
	// APIV3 is the current KsherPay API (api.mch.ksher.net, gateway.ksher.com).
	APIV3 APIKind = "v3"
	// APIVIP is the legacy Payment API Gateway (*.vip.ksher.net).
	APIVIP APIKind = "vip"
)

// Ksher's production hosts for the v3 API.
const (
	DefaultV3BaseURL        = "https://api.mch.ksher.net"
	DefaultV3GatewayBaseURL = "https://gateway.ksher.com"
)

// Defaults for the client.
const (
	// DefaultMaxRetries is the number of retries after the first attempt.
	DefaultMaxRetries = 2
	// DefaultHTTPTimeout is the timeout of the default HTTP client (per attempt).
	DefaultHTTPTimeout = 20 * time.Second
	// DefaultCallTimeout bounds a whole call (all attempts and backoff)
	// when the caller's context has no deadline.
	DefaultCallTimeout = 45 * time.Second
	// QueryInterval is Ksher's minimum spacing between two queries of the
	// same order (API.md A.7).
	QueryInterval = 10 * time.Second

	minBackoff = 500 * time.Millisecond
	maxBackoff = 5 * time.Second
	maxBody    = 8 << 20
)

// Credentials are one v3 merchant's signing credentials.
type Credentials struct {
	// AppID is "mch" + merchant number, e.g. "mch35000".
	AppID string
	// PrivateKey is the merchant key downloaded from Ksher's portal
	// (parse it with ksign.ParsePrivateKey).
	PrivateKey *rsa.PrivateKey
}

// LogValue implements slog.LogValuer; the key is never logged.
func (c Credentials) LogValue() slog.Value {
	bits := 0
	if c.PrivateKey != nil && c.PrivateKey.N != nil {
		bits = c.PrivateKey.N.BitLen()
	}
	return slog.GroupValue(slog.String("appid", c.AppID), slog.String("private_key", redacted(bits > 0)), slog.Int("key_bits", bits))
}

// String never prints the key.
func (c Credentials) String() string {
	return "Credentials{AppID:" + c.AppID + ", PrivateKey:[REDACTED]}"
}

// GoString never prints the key.
func (c Credentials) GoString() string { return c.String() }

// Config describes one Ksher account.
type Config struct {
	// Kind is APIV3 ("v3") or APIVIP ("vip").
	Kind APIKind
	// Account is an optional label (e.g. the account's database id) used
	// in logs and in the 10-second query guard's key.
	Account string

	// BaseURL: v3: the KsherPay host (operations at BaseURL+"/KsherPay/<op>"),
	// default DefaultV3BaseURL. vip: the merchant's host
	// "https://<name>.vip.ksher.net" (required). Any path is kept as a prefix
	// (e.g. a sandbox mounted at /sandbox) and is part of vip signatures.
	BaseURL string
	// GatewayBaseURL (v3 only): the hosted-checkout host (operations at
	// GatewayBaseURL+"/api/<op>"). Default DefaultV3GatewayBaseURL, or
	// BaseURL when BaseURL is set (a sandbox serves both).
	GatewayBaseURL string
	// Credentials (v3) per mid. The map key is the mid used in params,
	// conventionally the AppID ("mch35000").
	Credentials map[string]Credentials
	// KsherPublicKey (v3) verifies responses and notifications. Default:
	// Ksher's published V1 key (ksign.KsherV1PublicKeyPEM).
	KsherPublicKey *rsa.PublicKey
	// SignVersion (v3) is sent as the ksher-sign-version header when set
	// ("V2"); pair it with Ksher's V2 public key (API.md C.1.5).
	SignVersion string

	// Token (vip) is the HMAC key from the merchant's back office.
	Token string
	// Mids (vip) are the sub-merchant ids this token may use. When exactly
	// one is configured it is the default for params with an empty Mid.
	Mids []string
	// VIPSkipFinanceSignature (vip) accepts finance report answers
	// (/api/v1/finance/...) without verifying their signature. How Ksher
	// renders their nested data object is UNCONFIRMED (API.md B.4.4); the
	// official PHP SDK skips these checks. Off by default.
	VIPSkipFinanceSignature bool
}

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", string(c.Kind)),
		slog.String("account", c.Account),
		slog.String("base_url", redactURL(c.BaseURL)),
	}
	switch c.Kind {
	case APIV3:
		if c.GatewayBaseURL != "" {
			attrs = append(attrs, slog.String("gateway_base_url", redactURL(c.GatewayBaseURL)))
		}
		mids := slices.Sorted(mapKeys(c.Credentials))
		attrs = append(attrs, slog.Any("mids", mids), slog.Bool("custom_ksher_key", c.KsherPublicKey != nil))
	case APIVIP:
		attrs = append(attrs, slog.String("token", redacted(c.Token != "")), slog.Any("mids", c.Mids))
	}
	return slog.GroupValue(attrs...)
}

// String never prints secrets.
func (c Config) String() string { return c.LogValue().String() }

// GoString never prints secrets.
func (c Config) GoString() string { return c.String() }

func redacted(set bool) string {
	if set {
		return "[REDACTED]"
	}
	return ""
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	httpClient  *http.Client
	baseURL     string
	logger      *slog.Logger
	maxRetries  int
	noSleep     bool
	now         func() time.Time
	callTimeout time.Duration
	sleep       func(context.Context, time.Duration) error // tests in this package
	rand        func() float64
	nonce       func() string // tests in this package
}

// WithHTTPClient sets the HTTP client. It must have a Timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil || c.Timeout <= 0 {
			return errors.New("gateway: WithHTTPClient needs an *http.Client with a Timeout")
		}
		o.httpClient = c
		return nil
	}
}

// WithBaseURL points every endpoint of the account at base (sandbox mode:
// v3 KsherPay and gateway operations, or the vip host).
func WithBaseURL(base string) Option {
	return func(o *options) error { o.baseURL = base; return nil }
}

// WithLogger sets the logger (default: slog.Default()). Requests are
// logged at Debug, failures at Warn; secrets and signatures never are.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.logger = l
		}
		return nil
	}
}

// WithMaxRetries sets how many times a retryable call is retried after
// the first attempt (default DefaultMaxRetries; 0 disables retries).
func WithMaxRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("gateway: WithMaxRetries needs n >= 0")
		}
		o.maxRetries = n
		return nil
	}
}

// WithNoSleep disables backoff sleeps between retries (tests).
func WithNoSleep() Option {
	return func(o *options) error { o.noSleep = true; return nil }
}

// WithClock sets the clock used for request timestamps and the 10-second
// query rule (tests).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("gateway: WithClock needs a function")
		}
		o.now = now
		return nil
	}
}

// WithCallTimeout bounds a whole call when the caller's context has no
// deadline (default DefaultCallTimeout).
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("gateway: WithCallTimeout needs d > 0")
		}
		o.callTimeout = d
		return nil
	}
}

// Client talks to one Ksher account. It is safe for concurrent use.
type Client struct {
	// PaymentLinks creates, queries and cancels hosted checkout pages.
	PaymentLinks *PaymentLinkService
	// Orders queries payment orders.
	Orders *OrderService
	// Refunds creates and queries refunds.
	Refunds *RefundService
	// Settlements lists settlements and their orders.
	Settlements *SettlementService
	// Transactions lists a day's transactions (vip only).
	Transactions *TransactionService
	// Channels lists a mid's payment channels.
	Channels *ChannelService
	// Counter creates QR codes, charges payer codes and reverses charges.
	Counter *CounterService
	// Merchant reads the merchant profile (v3 only).
	Merchant *MerchantService
	// Notifications verifies and parses Ksher's notifications and webhooks.
	Notifications *NotificationService

	cfg   Config
	opt   options
	log   *slog.Logger
	drv   driver
	guard *queryGuard
	v3    *v3Driver
	vip   *vipDriver
}

// New builds a Client for cfg. It validates the configuration (keys,
// URLs, token) but makes no network call.
func New(cfg Config, opts ...Option) (*Client, error) {
	o := options{
		maxRetries:  DefaultMaxRetries,
		now:         time.Now,
		callTimeout: DefaultCallTimeout,
		rand:        rand.Float64,
		nonce:       newNonce,
	}
	for _, fn := range opts {
		if err := fn(&o); err != nil {
			return nil, err
		}
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.sleep == nil {
		if o.noSleep {
			o.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		} else {
			o.sleep = sleepCtx
		}
	}
	c := &Client{cfg: cfg, opt: o, log: o.logger.With(slog.String("component", "gateway"), slog.String("api", string(cfg.Kind)), slog.String("account", cfg.Account)), guard: newQueryGuard()}
	switch cfg.Kind {
	case APIV3:
		d, err := newV3Driver(c, cfg, o.baseURL)
		if err != nil {
			return nil, err
		}
		c.drv, c.v3 = d, d
	case APIVIP:
		d, err := newVIPDriver(c, cfg, o.baseURL)
		if err != nil {
			return nil, err
		}
		c.drv, c.vip = d, d
	default:
		return nil, fmt.Errorf("gateway: Config.Kind must be %q or %q", APIV3, APIVIP)
	}
	c.PaymentLinks = &PaymentLinkService{c: c}
	c.Orders = &OrderService{c: c}
	c.Refunds = &RefundService{c: c}
	c.Settlements = &SettlementService{c: c}
	c.Transactions = &TransactionService{c: c}
	c.Channels = &ChannelService{c: c}
	c.Counter = &CounterService{c: c}
	c.Merchant = &MerchantService{c: c}
	c.Notifications = &NotificationService{c: c}
	return c, nil
}

// API reports which Ksher API the client speaks.
func (c *Client) API() APIKind { return c.cfg.Kind }

// LogValue implements slog.LogValuer with secrets redacted.
func (c *Client) LogValue() slog.Value { return c.cfg.LogValue() }

func parseBase(name, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway: %s %q is not an http(s) URL", name, redactURL(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gateway: %s must not carry user info, query or fragment", name)
	}
	return u, nil
}

// redactURL drops user info and query from a URL for logs and errors (vip
// GET signatures travel in the query string).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL]"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "[REDACTED]"
	}
	u.Fragment = ""
	return u.String()
}

// ---------------------------------------------------------------- call loop

// retryPolicy says which failures of a call may be retried.
type retryPolicy int

const (
	// retryNever: creates of payments/charges, cancels, reversals.
	retryNever retryPolicy = iota
	// retryRead: queries and reports.
	retryRead
	// retrySameRequest: refunds; the identical bytes (same refund number)
	// are re-sent.
	retrySameRequest
)

// call describes one capability invocation.
type call struct {
	op       string // capability, e.g. "refunds.create"
	retry    retryPolicy
	guardKey string // non-empty: subject to the 10-second rule
	// aliases returns the guard keys of the order's other ids, learnt from
	// the answer (a query by mch_order_no also counts for its
	// ksher_order_no: Ksher limits queries per order, not per id).
	aliases func(res any) []string
}

// attemptError is an *Error plus whether this attempt's failure is transient.
type attemptError struct {
	err       *Error
	transient bool
}

// Error implements error.
func (a *attemptError) Error() string { return a.err.Error() }

// Unwrap returns the *Error.
func (a *attemptError) Unwrap() error { return a.err }

func transientErr(e *Error) error { return &attemptError{err: e, transient: true} }

// run executes once() under the call's deadline, the 10-second guard and
// the retry policy, and returns the result or a *Error.
func run[T any, PT interface {
	*T
	meta() *Meta
}](ctx context.Context, c *Client, cl call, once func(ctx context.Context, attempt int) (PT, error)) (PT, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opt.callTimeout)
		defer cancel()
	}
	if cl.guardKey != "" {
		cached, wait, ok := c.guard.acquire(cl.guardKey, c.opt.now())
		if !ok {
			if cp, ok := cached.(PT); ok && cp != nil {
				v := *cp
				out := PT(&v)
				out.meta().Cached = true
				c.log.DebugContext(ctx, "ksher query answered from cache (10-second rule)", slog.String("op", cl.op), slog.Duration("wait", wait))
				return out, nil
			}
			return nil, &Error{Kind: KindRateLimited, Op: cl.op, Code: "CLIENT_QUERY_INTERVAL",
				Message: "Ksher allows one query of an order per 10 s and there is no earlier answer", RetryAfter: wait}
		}
	}
	for attempt := 0; ; attempt++ {
		res, err := once(ctx, attempt)
		if cl.guardKey != "" {
			// Ksher counts a query when it arrives, which may be well after
			// it was sent: the 10 seconds run from the end of the exchange,
			// so a slow query followed by a fast one never reaches Ksher
			// less than QueryInterval apart.
			c.guard.mark(cl.guardKey, c.opt.now())
		}
		if err == nil {
			if cl.guardKey != "" && res != nil {
				v := *res
				c.guard.store(cl.guardKey, PT(&v))
				if cl.aliases != nil {
					for _, k := range cl.aliases(res) {
						c.guard.alias(cl.guardKey, k, PT(&v))
					}
				}
			}
			return res, nil
		}
		var ae *attemptError
		transient := errors.As(err, &ae) && ae.transient
		final := unwrapAttempt(err, cl.op)
		if final.Kind == KindTimeout && ctx.Err() != nil {
			return nil, final
		}
		if !transient || cl.retry == retryNever || attempt >= c.opt.maxRetries || noRetries(ctx) {
			return nil, final
		}
		d := c.backoff(attempt)
		if cl.guardKey != "" {
			// A retried query is still a query: keep Ksher's spacing.
			d = max(d, c.guard.waitFor(cl.guardKey, c.opt.now()))
		}
		if dl, ok := ctx.Deadline(); ok && !c.opt.noSleep && c.opt.now().Add(d).After(dl) {
			return nil, final
		}
		c.log.WarnContext(ctx, "ksher call failed, retrying", slog.String("op", cl.op), slog.Int("attempt", attempt+1),
			slog.String("kind", string(final.Kind)), slog.String("code", final.Code), slog.Int("http_status", final.HTTPStatus), slog.Duration("backoff", d))
		if err := c.opt.sleep(ctx, d); err != nil {
			return nil, final
		}
		if cl.guardKey != "" {
			c.guard.mark(cl.guardKey, c.opt.now())
		}
	}
}

type noRetriesKey struct{}

// WithoutRetries returns a context under which the client sends each call
// once: a transient failure is returned, not retried. A caller that owns
// the retrying does this (the refund sender, a River job: it decides from
// each answer whether the same refund number may be sent again).
func WithoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetriesKey{}, true)
}

func noRetries(ctx context.Context) bool {
	v, _ := ctx.Value(noRetriesKey{}).(bool)
	return v
}

func unwrapAttempt(err error, op string) *Error {
	var ae *attemptError
	if errors.As(err, &ae) {
		e := *ae.err
		if e.Op == "" {
			e.Op = op
		}
		return &e
	}
	var ge *Error
	if errors.As(err, &ge) {
		e := *ge
		if e.Op == "" {
			e.Op = op
		}
		return &e
	}
	return &Error{Kind: KindTransport, Op: op, Err: err}
}

// backoff returns the sleep before retry number attempt+1: exponential
// from 500 ms, capped at 5 s, with jitter in [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := minBackoff << min(attempt, 10)
	d = min(d, maxBackoff)
	half := d / 2
	return half + time.Duration(c.opt.rand()*float64(half))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ---------------------------------------------------------------- HTTP

// httpAnswer is one HTTP exchange.
type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

// transientHTTP lists the HTTP statuses retried (for retryable calls):
// those that mean the request was not processed. Other 5xx (500 in
// particular) are not retried: the request may have been executed.
var transientHTTP = map[int]bool{
	http.StatusBadGateway:         true,
	http.StatusServiceUnavailable: true,
	http.StatusGatewayTimeout:     true,
}

// send performs one HTTP request. Errors are *attemptError.
func (c *Client) send(ctx context.Context, op string, req *http.Request) (*httpAnswer, error) {
	start := c.opt.now()
	resp, err := c.opt.httpClient.Do(req.WithContext(ctx))
	if err != nil {
		kind := KindTransport
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			kind = KindTimeout
		}
		if errors.Is(err, context.Canceled) {
			kind = KindTimeout
		}
		// url.Error carries the full URL, whose query may hold a signature.
		var ue *url.Error
		cause := err
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		c.log.WarnContext(ctx, "ksher request failed", slog.String("op", op), slog.String("method", req.Method),
			slog.String("path", req.URL.Path), slog.String("kind", string(kind)), slog.Duration("duration", c.opt.now().Sub(start)))
		e := &Error{Kind: kind, Op: op, Message: req.Method + " " + req.URL.Path, Err: cause}
		return nil, transientErr(e)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		kind := KindTransport
		if ctx.Err() != nil {
			kind = KindTimeout
		}
		return nil, transientErr(&Error{Kind: kind, Op: op, HTTPStatus: resp.StatusCode, Message: "reading response body", Err: err})
	}
	if len(body) > maxBody {
		return nil, &Error{Kind: KindTransport, Op: op, HTTPStatus: resp.StatusCode, Message: "response body too large"}
	}
	c.log.DebugContext(ctx, "ksher request", slog.String("op", op), slog.String("method", req.Method), slog.String("path", req.URL.Path),
		slog.Int("http_status", resp.StatusCode), slog.Int("bytes", len(body)), slog.Duration("duration", c.opt.now().Sub(start)))
	return &httpAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// httpStatusError maps a non-200 answer that the drivers did not handle.
func httpStatusError(op string, a *httpAnswer, code, msg string) error {
	e := &Error{Op: op, HTTPStatus: a.status, Code: code, Message: msg}
	switch {
	case a.status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(a.header)
		return e
	case transientHTTP[a.status]:
		e.Kind = KindTransport
		return transientErr(e)
	case a.status >= 500:
		e.Kind = KindTransport
		return e
	case a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotImplemented:
		e.Kind = KindUnsupported
		e.Err = ErrUnsupported
		return e
	case a.status >= 400:
		e.Kind = KindAPI
		return e
	default:
		e.Kind = KindTransport
		return e
	}
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return QueryInterval
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	return QueryInterval
}

// ---------------------------------------------------------------- 10-second guard

// queryGuard enforces Ksher's rule (API.md A.7) that one order is queried
// at most once per QueryInterval, per account+mid+order. A caller asking
// sooner gets the last answer. This is the in-process guard; replicas
// coordinate elsewhere (Postgres).
type queryGuard struct {
	mu      sync.Mutex
	entries map[string]*guardEntry
}

type guardEntry struct {
	sent   time.Time
	answer any
}

func newQueryGuard() *queryGuard { return &queryGuard{entries: map[string]*guardEntry{}} }

// acquire reserves the right to query key now. When the last query was
// less than QueryInterval ago it returns the last answer (may be nil) and
// the remaining wait, and ok=false.
func (g *queryGuard) acquire(key string, now time.Time) (answer any, wait time.Duration, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.entries) > 4096 {
		for k, e := range g.entries {
			if now.Sub(e.sent) >= QueryInterval {
				delete(g.entries, k)
			}
		}
	}
	e := g.entries[key]
	if e != nil && now.Sub(e.sent) < QueryInterval && !now.Before(e.sent.Add(-time.Minute)) {
		return e.answer, e.sent.Add(QueryInterval).Sub(now), false
	}
	if e == nil {
		e = &guardEntry{}
		g.entries[key] = e
	}
	e.sent = now
	return nil, 0, true
}

// waitFor returns how long until key may be queried again.
func (g *queryGuard) waitFor(key string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.entries[key]; e != nil {
		if w := e.sent.Add(QueryInterval).Sub(now); w > 0 {
			return w
		}
	}
	return 0
}

// mark records a query of key sent at now.
func (g *queryGuard) mark(key string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.entries[key]; e != nil {
		e.sent = now
	} else {
		g.entries[key] = &guardEntry{sent: now}
	}
}

// store records the answer to the last query of key.
func (g *queryGuard) store(key string, answer any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.entries[key]; e != nil {
		e.answer = answer
	}
}

// alias records that key names the same order as from: it shares from's
// last query time and answer.
func (g *queryGuard) alias(from, key string, answer any) {
	if from == key {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.entries[from]
	if e == nil {
		return
	}
	if a := g.entries[key]; a == nil || a.sent.Before(e.sent) {
		g.entries[key] = &guardEntry{sent: e.sent, answer: answer}
	}
}

// guardKey builds the 10-second rule key.
func (c *Client) guardKey(account, mid, family, idKind, id string) string {
	return strings.Join([]string{string(c.cfg.Kind), c.cfg.Account, account, mid, family, idKind, id}, "\x00")
}
