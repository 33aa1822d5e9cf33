package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// v3 error codes with special handling (API.md A.5). The official list is
// not public (UNCONFIRMED); these are the ones seen in Ksher material.
const (
	// CodeTooManyRequests is Ksher's query rate limit (KindRateLimited).
	CodeTooManyRequests = "KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS"
	// CodeInvalidOrderNo means the order does not exist.
	CodeInvalidOrderNo = "KSHER_INVALID_ORDER_NO"
	// CodePaymentInProcess accompanies NOTSURE on quick_pay.
	CodePaymentInProcess = "PAYMENT_IN_PROCESS"
	// CodeSystemError is Ksher's transient internal error.
	CodeSystemError = "SYSTEMERROR"
)

// transientV3Codes are the data.err_code values retried (for reads and
// refunds). A non-zero envelope code is retried as well: Ksher documents it
// as "the call failed, retry with the same parameters" (source 001).
var transientV3Codes = map[string]bool{
	CodeSystemError: true,
}

type v3Driver struct {
	c     *Client
	base  *url.URL
	gw    *url.URL
	creds map[string]Credentials
	pub   *rsa.PublicKey
	sigV  string
}

func newV3Driver(c *Client, cfg Config, override string) (*v3Driver, error) {
	base, gw := cfg.BaseURL, cfg.GatewayBaseURL
	if override != "" {
		base, gw = override, override
	}
	switch {
	case base == "" && gw == "":
		base, gw = DefaultV3BaseURL, DefaultV3GatewayBaseURL
	case base == "":
		base = DefaultV3BaseURL
	case gw == "":
		gw = base
	}
	bu, err := parseBase("BaseURL", base)
	if err != nil {
		return nil, err
	}
	gu, err := parseBase("GatewayBaseURL", gw)
	if err != nil {
		return nil, err
	}
	if len(cfg.Credentials) == 0 {
		return nil, fmt.Errorf("gateway: v3 Config.Credentials is empty")
	}
	for mid, cr := range cfg.Credentials {
		if mid == "" || cr.AppID == "" || cr.PrivateKey == nil {
			return nil, fmt.Errorf("gateway: v3 credentials for mid %q need an AppID and a PrivateKey", mid)
		}
		if err := cr.PrivateKey.Validate(); err != nil {
			return nil, fmt.Errorf("gateway: v3 private key for mid %q is invalid", mid)
		}
	}
	pub := cfg.KsherPublicKey
	if pub == nil {
		pub, err = ksign.ParsePublicKey([]byte(ksign.KsherV1PublicKeyPEM))
		if err != nil {
			return nil, err
		}
	}
	return &v3Driver{c: c, base: bu, gw: gu, creds: cfg.Credentials, pub: pub, sigV: cfg.SignVersion}, nil
}

// resolve finds the credentials of mid (a Credentials key or an AppID);
// an empty mid is accepted when there is exactly one.
func (d *v3Driver) resolve(op, mid string) (string, Credentials, error) {
	if mid == "" {
		if len(d.creds) == 1 {
			for m, cr := range d.creds {
				return m, cr, nil
			}
		}
		return "", Credentials{}, invalid(op, "Mid is required (the client has %d merchants)", len(d.creds))
	}
	if cr, ok := d.creds[mid]; ok {
		return mid, cr, nil
	}
	for m, cr := range d.creds {
		if cr.AppID == mid {
			return m, cr, nil
		}
	}
	return "", Credentials{}, invalid(op, "unknown mid %q", mid)
}

// v3Request is a signed, encoded request; retries send these exact bytes.
type v3Request struct {
	op      string
	ksherOp string
	mid     string
	appID   string
	url     string
	body    string
	nonce   string
}

// v3Answer is a verified response.
type v3Answer struct {
	raw     []byte
	data    map[string]any
	fetched time.Time
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func formText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return fmt.Sprint(x)
	}
}

// prepare adds appid (or mch_appid), nonce_str and time_stamp, signs and
// form-encodes the request.
func (d *v3Driver) prepare(op, ksherOp string, onGateway bool, mid string, fields map[string]any, appidField string) (*v3Request, error) {
	mid, cr, err := d.resolve(op, mid)
	if err != nil {
		return nil, err
	}
	nonce := d.c.opt.nonce()
	fields[appidField] = cr.AppID
	fields["nonce_str"] = nonce
	fields["time_stamp"] = d.c.opt.now().In(ICT).Format("20060102150405")
	sign, err := ksign.V3Sign(cr.PrivateKey, fields)
	if err != nil {
		// ksign errors name the key size at most, never key material.
		return nil, &Error{Kind: KindInvalidRequest, Op: op, Message: "signing the request failed", Err: err}
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, formText(v))
	}
	form.Set("sign", sign)
	var u string
	if onGateway {
		u = d.gw.String() + "/api/" + ksherOp
	} else {
		u = d.base.String() + "/KsherPay/" + ksherOp
	}
	return &v3Request{op: op + " " + ksherOp, ksherOp: ksherOp, mid: mid, appID: cr.AppID, url: u, body: form.Encode(), nonce: nonce}, nil
}

// exchange sends r once and verifies the answer.
func (d *v3Driver) exchange(ctx context.Context, r *v3Request) (*v3Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, strings.NewReader(r.body))
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Op: r.op, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if d.sigV != "" {
		req.Header.Set("ksher-sign-version", d.sigV)
	}
	a, err := d.c.send(ctx, r.op, req)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, httpStatusError(r.op, a, "HTTP_"+strconv.Itoa(a.status), http.StatusText(a.status))
	}
	m, err := ksign.DecodeObject(a.body)
	if err != nil {
		// A cut or garbled body: nothing was trusted; a read may try again.
		return nil, transientErr(&Error{Kind: KindTransport, Op: r.op, HTTPStatus: a.status, Message: "malformed response body"})
	}
	code, ok := toInt64(m["code"])
	if !ok {
		return nil, transientErr(&Error{Kind: KindTransport, Op: r.op, HTTPStatus: a.status, Message: "response has no code"})
	}
	if code != 0 {
		// The envelope is unsigned when the call failed; only the code is
		// used. Ksher: "not 0: the call failed, retry with the same parameters".
		ec := "KSHER_CODE_" + strconv.FormatInt(code, 10)
		if data := object(m, "data"); data != nil && str(data, "err_code") != "" {
			ec = str(data, "err_code")
		}
		e := &Error{Kind: KindAPI, Op: r.op, HTTPStatus: a.status, Code: ec, Message: str(m, "msg"), SendAgain: true}
		if ec == CodeTooManyRequests {
			e.Kind, e.RetryAfter = KindRateLimited, QueryInterval
			return nil, e
		}
		return nil, transientErr(e)
	}
	data := object(m, "data")
	sign := str(m, "sign")
	if data == nil || sign == "" {
		return nil, badSignature(r.op, "response has no signed data")
	}
	if err := ksign.V3Verify(d.pub, ksign.V3ResponseSubset(r.ksherOp, data), sign); err != nil {
		d.c.log.WarnContext(ctx, "ksher response signature mismatch", "op", r.op)
		return nil, badSignature(r.op, "response signature does not verify with Ksher's public key")
	}
	// Ksher echoes the request's nonce_str inside the signed data (source
	// 001); another value means a replayed answer to another request. Some
	// answers carry an empty nonce_str (gateway_order_query) or none.
	if n := str(data, "nonce_str"); n != "" && n != r.nonce {
		return nil, badSignature(r.op, "response answers another request (nonce_str mismatch)")
	}
	if strings.EqualFold(str(data, "result"), "FAIL") {
		ec, msg := str(data, "err_code"), str(data, "err_msg")
		e := &Error{Kind: KindAPI, Op: r.op, HTTPStatus: a.status, Code: ec, Message: msg}
		switch {
		case ec == CodeTooManyRequests:
			e.Kind, e.RetryAfter = KindRateLimited, QueryInterval
		case transientV3Codes[ec]:
			return nil, transientErr(e)
		}
		return nil, e
	}
	return &v3Answer{raw: a.body, data: data, fetched: d.c.opt.now()}, nil
}

func (d *v3Driver) meta(a *v3Answer) Meta {
	return Meta{API: APIV3, RawStatus: str(a.data, "result"), RawCode: str(a.data, "err_code"), Raw: a.raw, FetchedAt: a.fetched}
}

// v3Call runs one prepared request through the call loop and converts it.
func v3Call[T any, PT interface {
	*T
	meta() *Meta
}](ctx context.Context, d *v3Driver, r *v3Request, retry retryPolicy, guardKey string, conv func(*v3Answer) (PT, error)) (PT, error) {
	cl := call{op: r.op, retry: retry, guardKey: guardKey}
	if guardKey != "" {
		cl.aliases = func(res any) []string { return d.orderAliases(r, res) }
	}
	return run(ctx, d.c, cl, func(ctx context.Context, _ int) (PT, error) {
		a, err := d.exchange(ctx, r)
		if err != nil {
			return nil, err
		}
		return conv(a)
	})
}

// orderAliases lists the guard keys of the other ids of the order a
// query answered about.
func (d *v3Driver) orderAliases(r *v3Request, res any) []string {
	var family string
	ids := map[string]string{}
	switch x := res.(type) {
	case *Order:
		family = "order"
		ids = map[string]string{"mch_order_no": x.MerchantOrderID, "ksher_order_no": x.KsherOrderID, "channel_order_no": x.ChannelOrderID}
	default:
		return nil
	}
	var keys []string
	for kind, id := range ids {
		if id != "" {
			keys = append(keys, d.c.guardKey(r.appID, r.mid, family, kind, id))
		}
	}
	return keys
}

func currency(c string) string { return strings.ToUpper(orDefault(c, "THB")) }

func checkOrderID(op, name, id string) error {
	if id == "" {
		return invalid(op, "%s is required", name)
	}
	if len(id) > 32 {
		return invalid(op, "%s is longer than 32 characters", name)
	}
	return nil
}

// oneOrderID picks the single order id of a params struct.
func oneOrderID(op string, merchant, ksher, channel *string) (field, value string, err error) {
	n := 0
	for _, f := range []struct {
		field string
		v     *string
	}{{"mch_order_no", merchant}, {"ksher_order_no", ksher}, {"channel_order_no", channel}} {
		if f.v != nil && *f.v != "" {
			n++
			field, value = f.field, *f.v
		}
	}
	if n != 1 {
		return "", "", invalid(op, "set exactly one of MerchantOrderID, KsherOrderID, ChannelOrderID")
	}
	return field, value, nil
}

// ---------------------------------------------------------------- payment links

func (d *v3Driver) createPaymentLink(ctx context.Context, p *PaymentLinkCreateParams) (*PaymentLink, error) {
	const op = "payment_links.create"
	if err := checkOrderID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 {
		return nil, invalid(op, "Amount must be positive")
	}
	if len(p.Channels) == 0 {
		return nil, invalid(op, "Channels is required on v3 (channel_list)")
	}
	if p.RedirectURL == "" || p.FailRedirectURL == "" {
		return nil, invalid(op, "RedirectURL and FailRedirectURL are required")
	}
	f := map[string]any{
		"mch_order_no":          p.MerchantOrderID,
		"total_fee":             p.Amount,
		"fee_type":              currency(p.Currency),
		"channel_list":          strings.Join(p.Channels, ","),
		"mch_code":              p.MerchantOrderID,
		"mch_redirect_url":      p.RedirectURL,
		"mch_redirect_url_fail": p.FailRedirectURL,
		"product_name":          orDefault(deref(p.ProductName), p.MerchantOrderID),
		"refer_url":             orDefault(deref(p.ReferURL), p.RedirectURL),
	}
	setOpt(f, "mch_notify_url", p.NotifyURL)
	setOpt(f, "lang", p.Lang)
	setOpt(f, "device", p.Device)
	setOpt(f, "shop_name", p.ShopName)
	setOpt(f, "logo", p.LogoURL)
	setOpt(f, "attach", p.Attach)
	if p.ExpireMinutes != nil {
		f["expire_time"] = *p.ExpireMinutes
	}
	r, err := d.prepare(op, "gateway_pay", true, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	return v3Call(ctx, d, r, retryNever, "", func(a *v3Answer) (*PaymentLink, error) {
		u := str(a.data, "pay_content")
		if u == "" {
			return nil, &Error{Kind: KindAPI, Op: r.op, Code: "NO_PAY_CONTENT", Message: "gateway_pay answered without pay_content"}
		}
		m := d.meta(a)
		if m.RawStatus == "" {
			m.RawStatus = "SUCCESS"
		}
		return &PaymentLink{Meta: m, Mid: r.mid, MerchantOrderID: p.MerchantOrderID, URL: u, Amount: p.Amount,
			Currency: currency(p.Currency), Status: StatusPending}, nil
	})
}

func (d *v3Driver) linkFrom(a *v3Answer, mid, id string) *PaymentLink {
	return &PaymentLink{Meta: d.meta(a), Mid: mid, MerchantOrderID: orDefault(str(a.data, "mch_order_no"), id),
		Amount: integer(a.data, "total_fee"), Currency: str(a.data, "fee_type"), Channel: str(a.data, "channel"),
		KsherOrderID: str(a.data, "ksher_order_no"), PayOrderID: str(a.data, "pay_mch_order_no"),
		ChannelOrderID: str(a.data, "channel_order_no"), PaidAt: ictTime(a.data, "time_end"),
		Status: v3LinkStatus(str(a.data, "result"))}
}

func (d *v3Driver) getPaymentLink(ctx context.Context, p *PaymentLinkGetParams) (*PaymentLink, error) {
	const op = "payment_links.get"
	if err := checkOrderID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	r, err := d.prepare(op, "gateway_order_query", true, p.Mid, map[string]any{"mch_order_no": p.MerchantOrderID}, "appid")
	if err != nil {
		return nil, err
	}
	key := d.c.guardKey(r.appID, r.mid, "link", "mch_order_no", p.MerchantOrderID)
	return v3Call(ctx, d, r, retryRead, key, func(a *v3Answer) (*PaymentLink, error) {
		return d.linkFrom(a, r.mid, p.MerchantOrderID), nil
	})
}

func (d *v3Driver) cancelPaymentLink(ctx context.Context, p *PaymentLinkCancelParams) (*PaymentLink, error) {
	const op = "payment_links.cancel"
	if err := checkOrderID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	f := map[string]any{"mch_order_no": p.MerchantOrderID, "lang": orDefault(deref(p.Lang), "en")}
	r, err := d.prepare(op, "cancel_order", true, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	// cancel_order's answer fields are UNCONFIRMED; result SUCCESS = closed.
	return v3Call(ctx, d, r, retryNever, "", func(a *v3Answer) (*PaymentLink, error) {
		l := d.linkFrom(a, r.mid, p.MerchantOrderID)
		if res := strings.ToUpper(str(a.data, "result")); res == "SUCCESS" || res == "CLOSED" || res == "" {
			l.Status = StatusClosed
		}
		return l, nil
	})
}

// ---------------------------------------------------------------- orders

func (d *v3Driver) orderFrom(a *v3Answer, mid string) *Order {
	return &Order{Meta: d.meta(a), Mid: mid, MerchantOrderID: str(a.data, "mch_order_no"), KsherOrderID: str(a.data, "ksher_order_no"),
		ChannelOrderID: str(a.data, "channel_order_no"), Channel: str(a.data, "channel"), Amount: integer(a.data, "total_fee"),
		Currency: str(a.data, "fee_type"), PaidAmount: integer(a.data, "cash_fee"), PaidCurrency: str(a.data, "cash_fee_type"),
		Rate: str(a.data, "rate"), PaidAt: ictTime(a.data, "time_end"), Status: v3OrderStatus(str(a.data, "result"))}
}

func (d *v3Driver) getOrder(ctx context.Context, p *OrderGetParams) (*Order, error) {
	const op = "orders.get"
	field, id, err := oneOrderID(op, p.MerchantOrderID, p.KsherOrderID, p.ChannelOrderID)
	if err != nil {
		return nil, err
	}
	// channel is listed as required on the doc page but no official SDK
	// sends it (API.md A.3, UNCONFIRMED): not sent.
	r, err := d.prepare(op, "order_query", false, p.Mid, map[string]any{field: id}, "appid")
	if err != nil {
		return nil, err
	}
	key := d.c.guardKey(r.appID, r.mid, "order", field, id)
	return v3Call(ctx, d, r, retryRead, key, func(a *v3Answer) (*Order, error) {
		return d.orderFrom(a, r.mid), nil
	})
}

// ---------------------------------------------------------------- refunds

func (d *v3Driver) createRefund(ctx context.Context, p *RefundCreateParams) (*Refund, error) {
	const op = "refunds.create"
	field, id, err := oneOrderID(op, p.MerchantOrderID, p.KsherOrderID, nil)
	if err != nil {
		return nil, err
	}
	if err := checkOrderID(op, "RefundID", p.RefundID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.OrderAmount <= 0 || p.Amount > p.OrderAmount {
		return nil, invalid(op, "need 0 < Amount <= OrderAmount (v3 sends both)")
	}
	if p.Channel != nil {
		if rule, _ := RefundRuleFor(*p.Channel); rule.ByKsherOrderID && p.KsherOrderID == nil {
			return nil, invalid(op, "a %s refund needs KsherOrderID (Ksher refunds cards by ksher_order_no)", rule.Channel)
		}
	}
	f := map[string]any{
		field:           id,
		"mch_refund_no": p.RefundID,
		"total_fee":     p.OrderAmount,
		"refund_fee":    p.Amount,
		"fee_type":      currency(p.Currency),
	}
	setOpt(f, "channel", p.Channel)
	setOpt(f, "operator_id", p.OperatorID)
	setOpt(f, "attach", p.Attach)
	r, err := d.prepare(op, "order_refund", false, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	// order_refund's answer fields are UNCONFIRMED (no signed sample); read
	// what is there and fall back to the request.
	return v3Call(ctx, d, r, retrySameRequest, "", func(a *v3Answer) (*Refund, error) {
		rf := &Refund{Meta: d.meta(a), Mid: r.mid, RefundID: orDefault(str(a.data, "mch_refund_no"), p.RefundID),
			KsherRefundID: str(a.data, "ksher_refund_no"), ChannelRefundID: str(a.data, "channel_refund_no"),
			MerchantOrderID: orDefault(str(a.data, "mch_order_no"), deref(p.MerchantOrderID)),
			KsherOrderID:    orDefault(str(a.data, "ksher_order_no"), deref(p.KsherOrderID)),
			Amount:          p.Amount, OrderAmount: p.OrderAmount, Currency: currency(p.Currency),
			RefundedAt: ictTime(a.data, "refund_time")}
		if n := integer(a.data, "refund_fee"); n > 0 {
			rf.Amount = n
		}
		switch st := str(a.data, "refund_state"); {
		case st != "":
			rf.Status, rf.RawStatus = v3RefundStatus(st), st
		case strings.EqualFold(str(a.data, "result"), "SUCCESS"):
			rf.Status = StatusRefunded
		case strings.EqualFold(str(a.data, "result"), "NOTSURE"):
			rf.Status = StatusPending
		default:
			rf.Status = StatusUnknown
		}
		return rf, nil
	})
}

func (d *v3Driver) getRefund(ctx context.Context, p *RefundGetParams) (*Refund, error) {
	const op = "refunds.get"
	field, id, err := oneOrderID(op, p.MerchantOrderID, p.KsherOrderID, nil)
	if err != nil {
		return nil, err
	}
	if err := checkOrderID(op, "RefundID", p.RefundID); err != nil {
		return nil, err
	}
	if p.Channel != nil {
		if rule, _ := RefundRuleFor(*p.Channel); !rule.RefundQuery {
			return d.refundFromOrder(ctx, p)
		}
	}
	r, err := d.prepare(op, "refund_query", false, p.Mid, map[string]any{field: id, "mch_refund_no": p.RefundID}, "appid")
	if err != nil {
		return nil, err
	}
	key := d.c.guardKey(r.appID, r.mid, "refund", "mch_refund_no", p.RefundID)
	return v3Call(ctx, d, r, retryRead, key, func(a *v3Answer) (*Refund, error) {
		var entry map[string]any
		for _, e := range objects(a.data, "refund_orders") {
			if str(e, "mch_refund_no") == p.RefundID {
				entry = e
			}
		}
		if entry == nil {
			return nil, &Error{Kind: KindAPI, Op: r.op, Code: "REFUND_NOT_FOUND", Message: "refund_query does not list this refund number"}
		}
		m := d.meta(a)
		m.RawStatus = str(entry, "refund_state")
		rf := &Refund{Meta: m, Mid: r.mid, RefundID: p.RefundID, KsherRefundID: str(entry, "ksher_refund_no"),
			ChannelRefundID: str(entry, "channel_refund_no"), MerchantOrderID: str(a.data, "mch_order_no"),
			KsherOrderID: str(a.data, "ksher_order_no"), Amount: integer(entry, "mch_refund_fee"),
			OrderAmount: integer(a.data, "total_fee"), RefundedTotal: integer(a.data, "refund_fee"),
			Currency: str(a.data, "fee_type"), RefundedAt: ictTime(entry, "refund_time"), Status: v3RefundStatus(m.RawStatus)}
		if rf.RefundedTotal == 0 {
			for _, e := range objects(a.data, "refund_orders") {
				if v3RefundStatus(str(e, "refund_state")) == StatusRefunded {
					rf.RefundedTotal += integer(e, "mch_refund_fee")
				}
			}
		}
		switch {
		case rf.OrderAmount > 0 && rf.RefundedTotal > 0 && rf.RefundedTotal < rf.OrderAmount:
			rf.OrderStatus = StatusPartiallyRefunded
		case rf.OrderAmount > 0 && rf.RefundedTotal >= rf.OrderAmount:
			rf.OrderStatus = StatusRefunded
		}
		return rf, nil
	})
}

// refundFromOrder answers Refunds.Get for a channel without refund_query
// (RefundRule.RefundQuery false): order_query says whether the order is
// refunded, not which refund did it, so the refund's own Status stays
// unknown and OrderStatus carries the order's state.
func (d *v3Driver) refundFromOrder(ctx context.Context, p *RefundGetParams) (*Refund, error) {
	o, err := d.getOrder(ctx, &OrderGetParams{Mid: p.Mid, MerchantOrderID: p.MerchantOrderID, KsherOrderID: p.KsherOrderID})
	if err != nil {
		return nil, err
	}
	return &Refund{Meta: o.Meta, Mid: o.Mid, RefundID: p.RefundID, MerchantOrderID: o.MerchantOrderID, KsherOrderID: o.KsherOrderID,
		OrderAmount: o.Amount, Currency: o.Currency, Status: StatusUnknown, OrderStatus: o.Status}, nil
}

// ---------------------------------------------------------------- settlements

func dateRange(op string, from, to time.Time) ([]time.Time, error) {
	if from.IsZero() || to.IsZero() {
		return nil, invalid(op, "From and To are required")
	}
	f := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	t := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	if t.Before(f) {
		return nil, invalid(op, "To is before From")
	}
	if t.Sub(f) > 366*24*time.Hour {
		return nil, invalid(op, "date range longer than a year")
	}
	var days []time.Time
	for day := f; !day.After(t); day = day.AddDate(0, 0, 1) {
		days = append(days, day)
	}
	return days, nil
}

// listSettlements uses get_settlement_info. Ksher signs only begin_date,
// end_date and nonce_str of this answer (API.md C.1.4): the client checks
// that they echo the request, but the settlement rows themselves are not
// covered by Ksher's signature.
func (d *v3Driver) listSettlements(ctx context.Context, p *SettlementListParams) iter.Seq2[*Settlement, error] {
	const op = "settlements.list"
	return func(yield func(*Settlement, error) bool) {
		if _, err := dateRange(op, p.From, p.To); err != nil {
			yield(nil, err)
			return
		}
		begin, end := p.From.Format("2006-01-02"), p.To.Format("2006-01-02")
		channels := p.Channels
		if len(channels) == 0 {
			channels = []string{""}
		}
		for _, ch := range channels {
			f := map[string]any{"begin_date": begin, "end_date": end}
			if ch != "" {
				f["pay_channel"] = ch
			}
			r, err := d.prepare(op, "get_settlement_info", false, p.Mid, f, "mch_appid")
			if err != nil {
				yield(nil, err)
				return
			}
			rows, err := v3Call(ctx, d, r, retryRead, "", func(a *v3Answer) (*settlementRows, error) {
				if str(a.data, "begin_date") != begin || str(a.data, "end_date") != end {
					return nil, badSignature(r.op, "settlement answer is for another date range")
				}
				out := &settlementRows{Meta: d.meta(a)}
				for _, row := range objects(a.data, "settlement_data") {
					out.rows = append(out.rows, &Settlement{
						Meta:    Meta{API: APIV3, Raw: rawJSON(row), FetchedAt: a.fetched},
						Mid:     r.mid,
						Channel: str(row, "pay_channel"), PeriodStart: ksherDate(row, "begin_date"), PeriodEnd: ksherDate(row, "end_date"),
						SettlementDate: ksherDate(row, "settlement_date"), TransferDate: ksherDate(row, "transfer_date"),
						Amount: integer(row, "settlement_amount"), Fee: integer(row, "commission_fee"), VAT: integer(row, "vat"),
						TransferAmount: integer(row, "transfer_amount"), Transferred: str(row, "transfer_date") != "",
					})
				}
				return out, nil
			})
			if err != nil {
				yield(nil, err)
				return
			}
			for _, s := range rows.rows {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
}

// settlementRows carries one answer's rows through the call loop.
type settlementRows struct {
	Meta
	rows []*Settlement
}

func (d *v3Driver) settlementOrders(context.Context, *SettlementOrdersParams) iter.Seq2[*Transaction, error] {
	return errSeq[Transaction](unsupported("settlements.orders",
		"Ksher v3 has no per-settlement order list; a settlement row covers one pay_channel and begin_date..end_date, reconcile with your own orders"))
}

func (d *v3Driver) listTransactions(context.Context, *TransactionListParams) iter.Seq2[*Transaction, error] {
	return errSeq[Transaction](unsupported("transactions.list", "Ksher v3 has no transaction list API"))
}

// ---------------------------------------------------------------- merchant, channels

func v3Channels(data map[string]any) []Channel {
	var out []Channel
	for _, c := range objects(data, "mch_support_channel") {
		out = append(out, Channel{Name: str(c, "pay_channel"), SettlementCycle: str(c, "settlement_time_type"),
			SingleOrderLimit: integer(c, "single_order_limit"), DaySumLimit: integer(c, "day_sum_limit")})
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (d *v3Driver) merchantInfo(ctx context.Context, p *MerchantInfoParams) (*MerchantInfo, error) {
	const op = "merchant.info"
	r, err := d.prepare(op, "merchant_info", false, p.Mid, map[string]any{}, "appid")
	if err != nil {
		return nil, err
	}
	return v3Call(ctx, d, r, retryRead, "", func(a *v3Answer) (*MerchantInfo, error) {
		name := object(a.data, "mch_name")
		m := d.meta(a)
		m.RawStatus = str(a.data, "account_type")
		signed := slices.Sorted(mapKeys(ksign.V3ResponseSubset("merchant_info", a.data)))
		return &MerchantInfo{Meta: m, Mid: r.mid, AppID: orDefault(str(a.data, "mch_appid"), r.appID), MerchantID: str(a.data, "mch_id"),
			Name: str(name, "merchant_name"), BriefName: str(name, "mch_brief_name"), AccountType: str(a.data, "account_type"),
			Test: strings.EqualFold(str(a.data, "account_type"), "Test"), BusinessMode: str(a.data, "business_mode"),
			Mobile: str(a.data, "mobile"), AllowPartialRefund: strings.EqualFold(str(a.data, "allow_partial_refund"), "Y"),
			TimeZone: str(a.data, "time_zone"), SettlementCurrency: str(a.data, "settlement_fee_type"),
			Channels: v3Channels(a.data), SignedFields: signed}, nil
	})
}

func (d *v3Driver) listChannels(ctx context.Context, p *ChannelListParams) (*ChannelList, error) {
	mi, err := d.merchantInfo(ctx, &MerchantInfoParams{Mid: p.Mid})
	if err != nil {
		if ge, ok := err.(*Error); ok {
			ge.Op = "channels.list " + strings.TrimPrefix(ge.Op, "merchant.info ")
		}
		return nil, err
	}
	return &ChannelList{Meta: mi.Meta, Mid: mi.Mid, Channels: mi.Channels}, nil
}

// ---------------------------------------------------------------- counter

func (d *v3Driver) createQR(ctx context.Context, p *QRParams) (*QRCode, error) {
	const op = "counter.qr"
	if err := checkOrderID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.Channel == "" {
		return nil, invalid(op, "Amount and Channel are required")
	}
	f := map[string]any{"mch_order_no": p.MerchantOrderID, "total_fee": p.Amount, "fee_type": currency(p.Currency), "channel": p.Channel}
	setOpt(f, "notify_url", p.NotifyURL)
	setOpt(f, "redirect_url", p.RedirectURL)
	setOpt(f, "product", p.Product)
	setOpt(f, "attach", p.Attach)
	setOpt(f, "operator_id", p.OperatorID)
	setOpt(f, "device_id", p.DeviceID)
	r, err := d.prepare(op, "native_pay", false, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	return v3Call(ctx, d, r, retryNever, "", func(a *v3Answer) (*QRCode, error) {
		return &QRCode{Meta: d.meta(a), Mid: r.mid, MerchantOrderID: orDefault(str(a.data, "mch_order_no"), p.MerchantOrderID),
			KsherOrderID: str(a.data, "ksher_order_no"), Payload: orDefault(str(a.data, "code_url"), str(a.data, "PaymentCode")),
			ImageDataURL: str(a.data, "imgdat"), Amount: p.Amount, Currency: currency(p.Currency), Channel: p.Channel, Status: StatusPending}, nil
	})
}

func (d *v3Driver) charge(ctx context.Context, p *ChargeParams) (*Charge, error) {
	const op = "counter.charge"
	if err := checkOrderID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.Channel == "" || p.AuthCode == "" {
		return nil, invalid(op, "Amount, Channel and AuthCode are required")
	}
	f := map[string]any{"mch_order_no": p.MerchantOrderID, "total_fee": p.Amount, "fee_type": currency(p.Currency),
		"channel": p.Channel, "auth_code": p.AuthCode}
	setOpt(f, "operator_id", p.OperatorID)
	setOpt(f, "device_id", p.DeviceID)
	setOpt(f, "attach", p.Attach)
	setOpt(f, "product", p.Product)
	setOpt(f, "notify_url", p.NotifyURL)
	r, err := d.prepare(op, "quick_pay", false, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	return v3Call(ctx, d, r, retryNever, "", func(a *v3Answer) (*Charge, error) {
		ch := &Charge{Meta: d.meta(a), Mid: r.mid, MerchantOrderID: orDefault(str(a.data, "mch_order_no"), p.MerchantOrderID),
			KsherOrderID: str(a.data, "ksher_order_no"), ChannelOrderID: str(a.data, "channel_order_no"),
			Amount: p.Amount, Currency: currency(p.Currency), Channel: orDefault(str(a.data, "channel"), p.Channel),
			PaidAmount: integer(a.data, "cash_fee"), PaidCurrency: str(a.data, "cash_fee_type"), PaidAt: ictTime(a.data, "time_end")}
		switch strings.ToUpper(str(a.data, "result")) {
		case "SUCCESS":
			ch.Status = StatusPaid
		case "NOTSURE", "USERPAYING", "PENDING":
			ch.Status = StatusNotSure
		default:
			ch.Status = StatusUnknown
		}
		return ch, nil
	})
}

func (d *v3Driver) reverse(ctx context.Context, p *ReverseParams) (*Reversal, error) {
	const op = "counter.reverse"
	field, id, err := oneOrderID(op, p.MerchantOrderID, p.KsherOrderID, p.ChannelOrderID)
	if err != nil {
		return nil, err
	}
	f := map[string]any{field: id}
	setOpt(f, "channel", p.Channel)
	setOpt(f, "operator_id", p.OperatorID)
	r, err := d.prepare(op, "order_reverse", false, p.Mid, f, "appid")
	if err != nil {
		return nil, err
	}
	return v3Call(ctx, d, r, retryNever, "", func(a *v3Answer) (*Reversal, error) {
		rv := &Reversal{Meta: d.meta(a), Mid: r.mid, MerchantOrderID: str(a.data, "mch_order_no"), KsherOrderID: str(a.data, "ksher_order_no")}
		if rv.MerchantOrderID == "" && field == "mch_order_no" {
			rv.MerchantOrderID = id
		}
		if strings.EqualFold(str(a.data, "result"), "SUCCESS") {
			rv.Status = StatusReversed
		} else {
			rv.Status = StatusUnknown
		}
		return rv, nil
	})
}
