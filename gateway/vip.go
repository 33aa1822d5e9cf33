package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// vip error_code values (API.md B.6).
const (
	vipSuccess  = "SUCCESS"
	vipPending  = "PENDING"
	vipFail     = "FAIL"
	vipRefunded = "REFUNDED"
)

// Transaction report page size: Ksher's docs say limit < 50.
const (
	defaultPageSize = 40
	maxPageSize     = 49
)

type vipDriver struct {
	c         *Client
	base      *url.URL
	token     string
	mids      []string
	skipFinSi bool
}

func newVIPDriver(c *Client, cfg Config, override string) (*vipDriver, error) {
	base := cfg.BaseURL
	if override != "" {
		base = override
	}
	if base == "" {
		return nil, fmt.Errorf("gateway: vip Config.BaseURL is required (https://<name>.vip.ksher.net)")
	}
	u, err := parseBase("BaseURL", base)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("gateway: vip Config.Token is required")
	}
	return &vipDriver{c: c, base: u, token: cfg.Token, mids: slices.Clone(cfg.Mids), skipFinSi: cfg.VIPSkipFinanceSignature}, nil
}

func (d *vipDriver) resolveMid(op, mid string, required bool) (string, error) {
	if mid == "" {
		if len(d.mids) == 1 {
			return d.mids[0], nil
		}
		if required {
			return "", invalid(op, "Mid is required")
		}
		return "", nil
	}
	if len(d.mids) > 0 && !slices.Contains(d.mids, mid) {
		return "", invalid(op, "unknown mid %q", mid)
	}
	return mid, nil
}

// vipRequest is a signed request; retries send exactly these bytes.
type vipRequest struct {
	op        string
	method    string
	path      string // the decoded URL path sent, the signed prefix
	url       string
	body      []byte
	mid       string
	timestamp string
	finance   bool
}

type vipAnswer struct {
	raw     []byte
	obj     map[string]any
	fetched time.Time
}

// prepare signs fields for method and apiPath ("/api/v1/..."), under the
// base URL's own path prefix, which is part of the signed path.
func (d *vipDriver) prepare(op, method, apiPath, mid string, fields map[string]any) *vipRequest {
	path := d.base.Path + apiPath
	ts := strconv.FormatInt(d.c.opt.now().Unix(), 10)
	fields["timestamp"] = ts
	if mid != "" {
		fields["mid"] = mid
	}
	sig := ksign.VIPSign(d.token, path, fields)
	u := *d.base
	u.Path = path
	u.RawPath = ""
	r := &vipRequest{op: op + " " + method + " " + strings.TrimPrefix(apiPath, "/api/v1"), method: method, path: path, mid: mid, timestamp: ts,
		finance: strings.HasPrefix(apiPath, "/api/v1/finance/")}
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range fields {
			q.Set(k, formText(v))
		}
		q.Set("signature", sig)
		u.RawQuery = q.Encode()
	} else {
		fields["signature"] = sig
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(fields)
		r.body = bytes.TrimRight(b.Bytes(), "\n")
		delete(fields, "signature")
	}
	r.url = u.String()
	return r
}

// exchange sends r once and verifies the answer.
func (d *vipDriver) exchange(ctx context.Context, r *vipRequest) (*vipAnswer, error) {
	var body *bytes.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, r.method, r.url, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, r.method, r.url, nil)
	}
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Op: r.op, Message: "building request"}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a, err := d.c.send(ctx, r.op, req)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		// Error bodies ({"code":400,"name":"Bad Request","description":"<p>…</p>"})
		// are unsigned: used for the message only.
		code, msg := "HTTP_"+strconv.Itoa(a.status), http.StatusText(a.status)
		if m, err := ksign.DecodeObject(a.body); err == nil {
			if n := str(m, "name"); n != "" {
				code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(n), " ", "_"))
			}
			if ec := str(m, "error_code"); ec != "" {
				code = ec
			}
			if s := stripTags(orDefault(str(m, "description"), str(m, "error_message"))); s != "" {
				msg = s
			}
		}
		if code == CodeTooManyRequests {
			return nil, &Error{Kind: KindRateLimited, Op: r.op, HTTPStatus: a.status, Code: code, Message: msg, RetryAfter: retryAfter(a.header)}
		}
		return nil, httpStatusError(r.op, a, code, msg)
	}
	m, err := ksign.DecodeObject(a.body)
	if err != nil {
		return nil, transientErr(&Error{Kind: KindTransport, Op: r.op, HTTPStatus: a.status, Message: "malformed response body"})
	}
	if !(r.finance && d.skipFinSi) {
		sig := str(m, "signature")
		if sig == "" {
			return nil, badSignature(r.op, "response has no signature")
		}
		if err := ksign.VIPVerify(d.token, r.path, m, sig); err != nil {
			d.c.log.WarnContext(ctx, "ksher response signature mismatch", "op", r.op)
			return nil, badSignature(r.op, "response signature does not verify with the account token")
		}
		// The gateway echoes the request timestamp (API.md B.3, source 002);
		// another value means an answer replayed from another request.
		if ts, ok := m["timestamp"]; ok && formText(ts) != "" && str(m, "timestamp") != r.timestamp {
			return nil, badSignature(r.op, "response answers another request (timestamp mismatch)")
		}
	}
	if ec := str(m, "error_code"); ec == CodeTooManyRequests {
		return nil, &Error{Kind: KindRateLimited, Op: r.op, HTTPStatus: a.status, Code: ec, Message: str(m, "error_message"), RetryAfter: QueryInterval}
	}
	return &vipAnswer{raw: a.body, obj: m, fetched: d.c.opt.now()}, nil
}

func vipCall[T any, PT interface {
	*T
	meta() *Meta
}](ctx context.Context, d *vipDriver, r *vipRequest, retry retryPolicy, guardKey string, conv func(*vipAnswer) (PT, error)) (PT, error) {
	return run(ctx, d.c, call{op: r.op, retry: retry, guardKey: guardKey}, func(ctx context.Context, _ int) (PT, error) {
		a, err := d.exchange(ctx, r)
		if err != nil {
			return nil, err
		}
		return conv(a)
	})
}

func (d *vipDriver) meta(a *vipAnswer) Meta {
	return Meta{API: APIVIP, RawStatus: str(a.obj, "status"), RawCode: str(a.obj, "error_code"), Raw: a.raw, FetchedAt: a.fetched}
}

// apiError builds the KindAPI error of a 200 answer whose error_code is a
// failure; reserved3/reserved4 carry the channel's reason.
func vipAPIError(op string, m map[string]any) *Error {
	msg := str(m, "error_message")
	for _, k := range []string{"reserved3", "reserved4"} {
		if v := str(m, k); v != "" && v != "False" {
			msg = strings.TrimSpace(msg + " (" + v + ")")
		}
	}
	return &Error{Kind: KindAPI, Op: op, HTTPStatus: http.StatusOK, Code: orDefault(str(m, "error_code"), "UNKNOWN"), Message: msg}
}

// vipMid is the mid of an answer: the one requested, else the echo (the
// gateway echoes it without the "mch" prefix, or "False" when none).
func vipMid(m map[string]any, requested string) string {
	if requested != "" {
		return requested
	}
	if v := str(m, "mid"); v != "False" {
		return v
	}
	return ""
}

func orderPath(t OrderType, id string) string {
	p := "/api/v1/" + string(t.orDefault()) + "/orders"
	if id != "" {
		p += "/" + id
	}
	return p
}

func (d *vipDriver) vipOrder(a *vipAnswer, mid string) *Order {
	m := a.obj
	o := &Order{Meta: d.meta(a), Mid: vipMid(m, mid), MerchantOrderID: str(m, "merchant_order_id"), KsherOrderID: str(m, "acquirer_order_id"),
		ChannelOrderID: str(m, "channel_order_id"), GatewayOrderID: str(m, "gateway_order_id"), Channel: str(m, "channel"),
		Amount: integer(m, "amount"), Currency: str(m, "currency"), CreatedAt: utcTime(m, "order_date"), Kind: vipOrderKind(str(m, "order_type")),
		Type: vipFamily(str(m, "api_name")), Status: vipStatus(str(m, "status"), str(m, "error_code"))}
	if o.Kind == OrderKindRefund {
		// A refund record's reference is the refunded order's
		// merchant_order_id (API.md B.4.3); on orders it is a payment URL,
		// an orderStr or a prepay id, not returned.
		o.RefundOf = str(m, "reference")
	}
	return o
}

// vipOrderKind maps order_type; anything else is "".
func vipOrderKind(t string) OrderKind {
	switch {
	case strings.EqualFold(t, string(OrderKindSale)):
		return OrderKindSale
	case strings.EqualFold(t, string(OrderKindRefund)):
		return OrderKindRefund
	}
	return ""
}

// vipFamily maps api_name (Redirect, CscanB, BscanC, App, miniAPP; API.md
// B.3) to its order family; "general" (refund records) and unknown names
// are "".
func vipFamily(apiName string) OrderType {
	t := OrderType(strings.ToLower(strings.TrimSpace(apiName)))
	if t == "" || !t.valid() {
		return ""
	}
	return t
}

func (d *vipDriver) vipLink(a *vipAnswer, mid string) *PaymentLink {
	o := d.vipOrder(a, mid)
	return &PaymentLink{Meta: o.Meta, Mid: o.Mid, MerchantOrderID: o.MerchantOrderID, URL: str(a.obj, "reference"), Amount: o.Amount,
		Currency: o.Currency, Channel: o.Channel, KsherOrderID: o.KsherOrderID, GatewayOrderID: o.GatewayOrderID,
		ChannelOrderID: o.ChannelOrderID, Status: o.Status}
}

// checkEcho rejects a signed create/refund answer about another order (the
// create path carries no order id, so the signature alone does not bind it).
func checkEcho(op string, m map[string]any, want string) error {
	if got := str(m, "merchant_order_id"); got != "" && got != want {
		return badSignature(op, "response is about another order")
	}
	return nil
}

func safeID(op, name, id string) error {
	if err := checkOrderID(op, name, id); err != nil {
		return err
	}
	if strings.ContainsAny(id, "/?#%\\ ") {
		return invalid(op, "%s must not contain / ? # %% \\ or spaces (it is part of the signed URL path)", name)
	}
	return nil
}

// ---------------------------------------------------------------- payment links

func (d *vipDriver) createPaymentLink(ctx context.Context, p *PaymentLinkCreateParams) (*PaymentLink, error) {
	const op = "payment_links.create"
	if err := safeID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.RedirectURL == "" || p.FailRedirectURL == "" {
		return nil, invalid(op, "Amount, RedirectURL and FailRedirectURL are required")
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	f := map[string]any{"merchant_order_id": p.MerchantOrderID, "amount": p.Amount, "redirect_url": p.RedirectURL, "redirect_url_fail": p.FailRedirectURL}
	if len(p.Channels) > 0 {
		f["channel"] = strings.Join(p.Channels, ",")
	}
	setOpt(f, "note", p.Note)
	setOpt(f, "product_name", p.ProductName)
	r := d.prepare(op, http.MethodPost, orderPath(OrderTypeRedirect, ""), mid, f)
	return vipCall(ctx, d, r, retryNever, "", func(a *vipAnswer) (*PaymentLink, error) {
		if ec := str(a.obj, "error_code"); ec != vipSuccess && ec != vipPending {
			return nil, vipAPIError(r.op, a.obj)
		}
		if err := checkEcho(r.op, a.obj, p.MerchantOrderID); err != nil {
			return nil, err
		}
		l := d.vipLink(a, mid)
		l.MerchantOrderID = p.MerchantOrderID
		if l.Status == StatusUnknown || l.Status == StatusPaid && !strings.EqualFold(l.RawStatus, "Paid") {
			// create answers error_code SUCCESS with status Available.
			l.Status = StatusPending
		}
		return l, nil
	})
}

func (d *vipDriver) getPaymentLink(ctx context.Context, p *PaymentLinkGetParams) (*PaymentLink, error) {
	const op = "payment_links.get"
	if err := safeID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	r := d.prepare(op, http.MethodGet, orderPath(OrderTypeRedirect, p.MerchantOrderID), mid, map[string]any{})
	key := d.c.guardKey(d.base.Host, mid, "order", string(OrderTypeRedirect), p.MerchantOrderID)
	return vipCall(ctx, d, r, retryRead, key, func(a *vipAnswer) (*PaymentLink, error) {
		if ec := str(a.obj, "error_code"); ec == "UNKNOWN" {
			return nil, vipAPIError(r.op, a.obj)
		}
		return d.vipLink(a, mid), nil
	})
}

// cancelPaymentLink sends DELETE with a JSON body (timestamp, mid), as
// every official SDK does. Whether the server implements it is
// UNCONFIRMED (API.md B.4); 405/501 answers become KindUnsupported.
func (d *vipDriver) cancelPaymentLink(ctx context.Context, p *PaymentLinkCancelParams) (*PaymentLink, error) {
	const op = "payment_links.cancel"
	if err := safeID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	r := d.prepare(op, http.MethodDelete, orderPath(OrderTypeRedirect, p.MerchantOrderID), mid, map[string]any{})
	return vipCall(ctx, d, r, retryNever, "", func(a *vipAnswer) (*PaymentLink, error) {
		ec := str(a.obj, "error_code")
		if ec != "" && ec != vipSuccess && !strings.EqualFold(str(a.obj, "status"), "Closed") {
			return nil, vipAPIError(r.op, a.obj)
		}
		l := d.vipLink(a, mid)
		if l.MerchantOrderID == "" {
			l.MerchantOrderID = p.MerchantOrderID
		}
		if l.Status != StatusClosed && (ec == vipSuccess || ec == "") && !strings.EqualFold(l.RawStatus, "Paid") {
			l.Status = StatusClosed
		}
		return l, nil
	})
}

// ---------------------------------------------------------------- orders

func (d *vipDriver) getOrder(ctx context.Context, p *OrderGetParams) (*Order, error) {
	const op = "orders.get"
	if p.KsherOrderID != nil || p.ChannelOrderID != nil {
		return nil, unsupported(op, "the vip gateway queries orders by MerchantOrderID only")
	}
	if p.MerchantOrderID == nil {
		return nil, invalid(op, "MerchantOrderID is required")
	}
	if !p.Type.valid() {
		return nil, invalid(op, "unknown order Type %q", p.Type)
	}
	id := *p.MerchantOrderID
	if err := safeID(op, "MerchantOrderID", id); err != nil {
		return nil, err
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	r := d.prepare(op, http.MethodGet, orderPath(p.Type, id), mid, map[string]any{})
	key := d.c.guardKey(d.base.Host, mid, "order", string(p.Type.orDefault()), id)
	return vipCall(ctx, d, r, retryRead, key, func(a *vipAnswer) (*Order, error) {
		if ec := str(a.obj, "error_code"); ec == "UNKNOWN" {
			return nil, vipAPIError(r.op, a.obj)
		}
		return d.vipOrder(a, mid), nil
	})
}

// ---------------------------------------------------------------- refunds

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (d *vipDriver) vipRefund(a *vipAnswer, mid, refundID, orderID string) *Refund {
	m := a.obj
	rf := &Refund{Meta: d.meta(a), Mid: vipMid(m, mid), RefundID: refundID, KsherRefundID: str(m, "gateway_order_id"),
		ChannelRefundID: str(m, "channel_order_id"), MerchantOrderID: orDefault(str(m, "reference"), orderID),
		KsherOrderID: str(m, "acquirer_order_id"), Amount: abs64(integer(m, "amount")), Currency: str(m, "currency"),
		RefundedAt: utcTime(m, "order_date")}
	switch ec := strings.ToUpper(str(m, "error_code")); {
	case ec == vipRefunded || strings.EqualFold(str(m, "status"), "Refunded"):
		rf.Status = StatusRefunded
	case ec == vipPending:
		rf.Status = StatusPending
	case ec == vipFail:
		rf.Status = StatusFailed
	default:
		rf.Status = StatusUnknown
	}
	return rf
}

func (d *vipDriver) createRefund(ctx context.Context, p *RefundCreateParams) (*Refund, error) {
	const op = "refunds.create"
	if p.KsherOrderID != nil || p.MerchantOrderID == nil {
		return nil, invalid(op, "the vip gateway refunds by MerchantOrderID")
	}
	if !p.Type.valid() {
		return nil, invalid(op, "unknown order Type %q", p.Type)
	}
	id := *p.MerchantOrderID
	if err := safeID(op, "MerchantOrderID", id); err != nil {
		return nil, err
	}
	if err := checkOrderID(op, "RefundID", p.RefundID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || (p.OrderAmount > 0 && p.Amount > p.OrderAmount) {
		return nil, invalid(op, "need 0 < Amount (<= OrderAmount when given)")
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	f := map[string]any{"refund_order_id": p.RefundID, "refund_amount": p.Amount}
	r := d.prepare(op, http.MethodPut, orderPath(p.Type, id), mid, f)
	return vipCall(ctx, d, r, retrySameRequest, "", func(a *vipAnswer) (*Refund, error) {
		ec := strings.ToUpper(str(a.obj, "error_code"))
		if ec != vipRefunded && ec != vipSuccess && ec != vipPending {
			return nil, vipAPIError(r.op, a.obj)
		}
		// The refund record's merchant_order_id is the refund_order_id (API.md B.4.3).
		if err := checkEcho(r.op, a.obj, p.RefundID); err != nil {
			return nil, err
		}
		rf := d.vipRefund(a, mid, p.RefundID, id)
		if rf.Amount == 0 {
			rf.Amount = p.Amount
		}
		rf.OrderAmount = p.OrderAmount
		return rf, nil
	})
}

// getRefund queries the refund record, an order object whose
// merchant_order_id is the refund_order_id (API.md B.4.3). That the query
// API serves refund records by their id is UNCONFIRMED: when it answers
// 404 and MerchantOrderID is given, the original order is queried instead
// and its state is reported as OrderStatus, with Status unknown.
func (d *vipDriver) getRefund(ctx context.Context, p *RefundGetParams) (*Refund, error) {
	const op = "refunds.get"
	if err := safeID(op, "RefundID", p.RefundID); err != nil {
		return nil, err
	}
	if !p.Type.valid() {
		return nil, invalid(op, "unknown order Type %q", p.Type)
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	orderID := deref(p.MerchantOrderID)
	r := d.prepare(op, http.MethodGet, orderPath(p.Type, p.RefundID), mid, map[string]any{})
	key := d.c.guardKey(d.base.Host, mid, "refund", string(p.Type.orDefault()), p.RefundID)
	rf, err := vipCall(ctx, d, r, retryRead, key, func(a *vipAnswer) (*Refund, error) {
		if ec := str(a.obj, "error_code"); ec == "UNKNOWN" {
			return nil, vipAPIError(r.op, a.obj)
		}
		rf := d.vipRefund(a, mid, p.RefundID, orderID)
		rf.OrderStatus = ""
		return rf, nil
	})
	var ge *Error
	if err == nil || orderID == "" || !errors.As(err, &ge) || ge.HTTPStatus != http.StatusNotFound {
		return rf, err
	}
	o, err := d.getOrder(ctx, &OrderGetParams{Mid: p.Mid, MerchantOrderID: &orderID, Type: p.Type})
	if err != nil {
		return nil, err
	}
	return &Refund{Meta: o.Meta, Mid: o.Mid, RefundID: p.RefundID, MerchantOrderID: o.MerchantOrderID, KsherOrderID: o.KsherOrderID,
		OrderAmount: o.Amount, Currency: o.Currency, Status: StatusUnknown, OrderStatus: o.Status}, nil
}

// ---------------------------------------------------------------- finance

func (d *vipDriver) financeOK(op string, a *vipAnswer) error {
	if ec := strings.ToUpper(str(a.obj, "error_code")); ec != "" && ec != vipSuccess {
		return vipAPIError(op, a.obj)
	}
	return nil
}

// reportRows finds the rows and total of a finance answer: {data:{data:[…],
// total}} as documented, or {data:[…], total}.
func reportRows(m map[string]any) ([]map[string]any, int64, bool) {
	if inner := object(m, "data"); inner != nil {
		if _, ok := inner["data"]; ok {
			n, has := toInt64(inner["total"])
			return objects(inner, "data"), n, has
		}
	}
	n, has := toInt64(m["total"])
	return objects(m, "data"), n, has
}

func (d *vipDriver) listChannels(ctx context.Context, p *ChannelListParams) (*ChannelList, error) {
	const op = "channels.list"
	mid, err := d.resolveMid(op, p.Mid, true)
	if err != nil {
		return nil, err
	}
	r := d.prepare(op, http.MethodGet, "/api/v1/finance/settlements/channels", mid, map[string]any{})
	return vipCall(ctx, d, r, retryRead, "", func(a *vipAnswer) (*ChannelList, error) {
		if err := d.financeOK(r.op, a); err != nil {
			return nil, err
		}
		names := strs(object(a.obj, "data"), "channels")
		if len(names) == 0 {
			names = strs(a.obj, "channels")
		}
		if len(names) == 0 {
			names = strs(a.obj, "data")
		}
		cl := &ChannelList{Meta: d.meta(a), Mid: mid}
		for _, n := range names {
			cl.Channels = append(cl.Channels, Channel{Name: n})
		}
		return cl, nil
	})
}

// transactionsPage carries one page through the call loop.
type transactionsPage struct {
	Meta
	rows  []map[string]any
	total int64
	has   bool
}

func transaction(row map[string]any, mid string, fetched time.Time, total int64) *Transaction {
	return &Transaction{Meta: Meta{API: APIVIP, RawStatus: str(row, "type"), Raw: rawJSON(row), FetchedAt: fetched}, Mid: mid, Total: total,
		MerchantOrderID: str(row, "order_id"), KsherOrderID: str(row, "ksher_order_id"), Amount: reportAmount(row, "amount"),
		Currency: str(row, "currency"), Channel: str(row, "channel"), Type: TransactionType(strings.ToUpper(strings.TrimSpace(str(row, "type")))), Time: ictTime(row, "transaction_time"),
		DeviceID: str(row, "device_id"), OperatorID: str(row, "operator_id"), OperatorName: str(row, "operator_name")}
}

// paginate yields the rows of a paginated finance report, starting at row
// start.
func (d *vipDriver) paginate(ctx context.Context, op, apiPath, mid string, start, pageSize int, extra map[string]any) iter.Seq2[*Transaction, error] {
	return func(yield func(*Transaction, error) bool) {
		limit := pageSize
		if limit <= 0 {
			limit = defaultPageSize
		}
		limit = min(limit, maxPageSize)
		for offset := max(start, 0); ; {
			f := map[string]any{"offset": offset, "limit": limit}
			for k, v := range extra {
				f[k] = v
			}
			r := d.prepare(op, http.MethodGet, apiPath, mid, f)
			page, err := vipCall(ctx, d, r, retryRead, "", func(a *vipAnswer) (*transactionsPage, error) {
				if err := d.financeOK(r.op, a); err != nil {
					return nil, err
				}
				rows, total, has := reportRows(a.obj)
				return &transactionsPage{Meta: d.meta(a), rows: rows, total: total, has: has}, nil
			})
			if err != nil {
				yield(nil, err)
				return
			}
			for _, row := range page.rows {
				total := int64(0)
				if page.has {
					total = page.total
				}
				if !yield(transaction(row, mid, page.FetchedAt, total), nil) {
					return
				}
			}
			offset += len(page.rows)
			if len(page.rows) == 0 || len(page.rows) < limit || (page.has && int64(offset) >= page.total) {
				return
			}
			if ctx.Err() != nil {
				yield(nil, &Error{Kind: KindTimeout, Op: op, Err: ctx.Err()})
				return
			}
		}
	}
}

func (d *vipDriver) listTransactions(ctx context.Context, p *TransactionListParams) iter.Seq2[*Transaction, error] {
	const op = "transactions.list"
	mid, err := d.resolveMid(op, p.Mid, true)
	if err != nil {
		return errSeq[Transaction](err)
	}
	if p.Date.IsZero() {
		return errSeq[Transaction](invalid(op, "Date is required"))
	}
	extra := map[string]any{}
	if p.Channel != nil && *p.Channel != "" {
		extra["channel"] = *p.Channel
	}
	return d.paginate(ctx, op, "/api/v1/finance/settlements/order/"+p.Date.Format("20060102"), mid, p.Offset, p.PageSize, extra)
}

func (d *vipDriver) settlementOrders(ctx context.Context, p *SettlementOrdersParams) iter.Seq2[*Transaction, error] {
	const op = "settlements.orders"
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return errSeq[Transaction](err)
	}
	if p.ReferenceID == "" {
		return errSeq[Transaction](invalid(op, "ReferenceID is required"))
	}
	// Row fields of settlement_order are UNCONFIRMED; they are read like
	// transaction rows.
	return d.paginate(ctx, op, "/api/v1/finance/settlements/settlement_order", mid, 0, p.PageSize, map[string]any{"reference_id": p.ReferenceID})
}

// settlementList carries one day/channel answer through the call loop.
type settlementList struct {
	Meta
	rows []*Settlement
}

func (d *vipDriver) settlement(row map[string]any, mid, channel string, meta Meta) *Settlement {
	return &Settlement{Meta: meta, Mid: mid, Channel: orDefault(str(row, "channel"), channel), ReferenceID: str(row, "reference_id"),
		PeriodStart: ksherDate(row, "start"), PeriodEnd: ksherDate(row, "end"), SettlementDate: ksherDate(row, "time"), Currency: str(row, "currency"),
		Count: integer(row, "count"), Amount: reportAmount(row, "amount"), Fee: reportAmount(row, "fee"), Refund: reportAmount(row, "refund"),
		RefundFee: reportAmount(row, "refund_fee"), OtherFee: reportAmount(row, "other_fee"), Adjustment: reportAmount(row, "adjustment"),
		Net: reportAmount(row, "net"), TransferAmount: reportAmount(row, "transfer_amount"), Balance: reportAmount(row, "balance"),
		Transferred: boolean(row, "transfer")}
}

func (d *vipDriver) listSettlements(ctx context.Context, p *SettlementListParams) iter.Seq2[*Settlement, error] {
	const op = "settlements.list"
	return func(yield func(*Settlement, error) bool) {
		mid, err := d.resolveMid(op, p.Mid, true)
		if err != nil {
			yield(nil, err)
			return
		}
		days, err := dateRange(op, p.From, p.To)
		if err != nil {
			yield(nil, err)
			return
		}
		channels := p.Channels
		if len(channels) == 0 {
			cl, err := d.listChannels(ctx, &ChannelListParams{Mid: mid})
			if err != nil {
				yield(nil, err)
				return
			}
			for _, c := range cl.Channels {
				channels = append(channels, c.Name)
			}
		}
		for _, day := range days {
			for _, ch := range channels {
				r := d.prepare(op, http.MethodGet, "/api/v1/finance/settlements/"+day.Format("20060102"), mid, map[string]any{"channel": ch})
				list, err := vipCall(ctx, d, r, retryRead, "", func(a *vipAnswer) (*settlementList, error) {
					if err := d.financeOK(r.op, a); err != nil {
						return nil, err
					}
					out := &settlementList{Meta: d.meta(a)}
					var rows []map[string]any
					if o := object(a.obj, "data"); o != nil {
						rows = []map[string]any{o}
					} else {
						rows = objects(a.obj, "data")
					}
					for _, row := range rows {
						if len(row) == 0 {
							continue
						}
						meta := Meta{API: APIVIP, RawCode: str(a.obj, "error_code"), Raw: rawJSON(row), FetchedAt: a.fetched}
						out.rows = append(out.rows, d.settlement(row, mid, ch, meta))
					}
					return out, nil
				})
				if err != nil {
					yield(nil, err)
					return
				}
				for _, s := range list.rows {
					if !yield(s, nil) {
						return
					}
				}
			}
		}
	}
}

// ---------------------------------------------------------------- counter

func (d *vipDriver) createQR(ctx context.Context, p *QRParams) (*QRCode, error) {
	const op = "counter.qr"
	if err := safeID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.Channel == "" {
		return nil, invalid(op, "Amount and Channel are required")
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	f := map[string]any{"merchant_order_id": p.MerchantOrderID, "amount": p.Amount, "channel": p.Channel}
	setOpt(f, "note", p.Note)
	r := d.prepare(op, http.MethodPost, orderPath(OrderTypeCScanB, ""), mid, f)
	return vipCall(ctx, d, r, retryNever, "", func(a *vipAnswer) (*QRCode, error) {
		if ec := str(a.obj, "error_code"); ec != vipSuccess && ec != vipPending {
			return nil, vipAPIError(r.op, a.obj)
		}
		if err := checkEcho(r.op, a.obj, p.MerchantOrderID); err != nil {
			return nil, err
		}
		o := d.vipOrder(a, mid)
		st := o.Status
		if st == StatusPaid && !strings.EqualFold(o.RawStatus, "Paid") || st == StatusUnknown {
			st = StatusPending
		}
		return &QRCode{Meta: o.Meta, Mid: o.Mid, MerchantOrderID: p.MerchantOrderID, KsherOrderID: o.KsherOrderID, GatewayOrderID: o.GatewayOrderID,
			ImageDataURL: str(a.obj, "reserved1"), Amount: orInt(o.Amount, p.Amount), Currency: orDefault(o.Currency, "THB"),
			Channel: orDefault(o.Channel, p.Channel), Status: st}, nil
	})
}

func orInt(n, def int64) int64 {
	if n == 0 {
		return def
	}
	return n
}

func (d *vipDriver) charge(ctx context.Context, p *ChargeParams) (*Charge, error) {
	const op = "counter.charge"
	if err := safeID(op, "MerchantOrderID", p.MerchantOrderID); err != nil {
		return nil, err
	}
	if p.Amount <= 0 || p.Channel == "" || p.AuthCode == "" {
		return nil, invalid(op, "Amount, Channel and AuthCode are required")
	}
	mid, err := d.resolveMid(op, p.Mid, false)
	if err != nil {
		return nil, err
	}
	f := map[string]any{"merchant_order_id": p.MerchantOrderID, "amount": p.Amount, "channel": p.Channel, "auth_code": p.AuthCode}
	setOpt(f, "device_id", p.DeviceID)
	setOpt(f, "operator_id", p.OperatorID)
	setOpt(f, "note", p.Note)
	r := d.prepare(op, http.MethodPost, orderPath(OrderTypeBScanC, ""), mid, f)
	return vipCall(ctx, d, r, retryNever, "", func(a *vipAnswer) (*Charge, error) {
		ec := strings.ToUpper(str(a.obj, "error_code"))
		if ec != vipSuccess && ec != vipPending {
			return nil, vipAPIError(r.op, a.obj)
		}
		if err := checkEcho(r.op, a.obj, p.MerchantOrderID); err != nil {
			return nil, err
		}
		o := d.vipOrder(a, mid)
		ch := &Charge{Meta: o.Meta, Mid: o.Mid, MerchantOrderID: p.MerchantOrderID, KsherOrderID: o.KsherOrderID, ChannelOrderID: o.ChannelOrderID,
			GatewayOrderID: o.GatewayOrderID, Amount: orInt(o.Amount, p.Amount), Currency: orDefault(o.Currency, "THB"),
			Channel: orDefault(o.Channel, p.Channel), PaidAt: o.CreatedAt}
		switch {
		case strings.EqualFold(o.RawStatus, "Paid"):
			ch.Status = StatusPaid
		case ec == vipPending || strings.EqualFold(o.RawStatus, "Available"):
			// Not paid synchronously: the payer is confirming.
			ch.Status = StatusNotSure
		default:
			ch.Status = StatusUnknown
		}
		return ch, nil
	})
}

func (d *vipDriver) reverse(context.Context, *ReverseParams) (*Reversal, error) {
	return nil, unsupported("counter.reverse", "the vip gateway has no reversal API; refund the order instead")
}

func (d *vipDriver) merchantInfo(context.Context, *MerchantInfoParams) (*MerchantInfo, error) {
	return nil, unsupported("merchant.info", "the vip gateway has no merchant profile API")
}
