package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// vipKinds are the five order families of the gateway (API.md B.4).
var vipKinds = []string{"redirect", "miniapp", "app", "bscanc", "cscanb"}

// vipAPIName is the api_name of each kind (B.3; "App" is UNCONFIRMED).
var vipAPIName = map[string]string{"redirect": "Redirect", "miniapp": "miniAPP", "app": "App", "bscanc": "BscanC", "cscanb": "CscanB"}

// vipReq is one parsed vip request.
type vipReq struct {
	r      *http.Request
	f      map[string]any
	prefix string // the path that verified the signature (signs the answer)
	base   string
}

func (q *vipReq) str(k string) string {
	switch v := q.f[k].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// ts is the request's timestamp, echoed in answers.
func (q *vipReq) ts() string { return q.str("timestamp") }

// vipInt reads an integer field sent as a JSON number or a string (the
// Java SDK sends every value as a string).
func (q *vipReq) int(k string) (int64, bool) {
	var s string
	switch v := q.f[k].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// vipFields merges the query string and a JSON (or form) body, whatever
// the method: PHP and .NET SDKs send GET with a JSON body (API.md B.2).
func vipFields(r *http.Request) (map[string]any, error) {
	f := map[string]any{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	body := bytes.TrimSpace(readBody(r))
	if len(body) == 0 {
		return f, nil
	}
	if body[0] == '{' {
		m, err := ksign.DecodeObject(body)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			f[k] = v
		}
		return f, nil
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, v := range vals {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	return f, nil
}

// flaskError is the werkzeug-style error body of the gateway (API.md B.2).
// These bodies are not signed.
func (s *Sandbox) flaskError(base string, code int, desc string) *reply {
	return &reply{status: code, obj: map[string]any{
		"code": code, "name": http.StatusText(code),
		"description":   "<p class='preserveHtml' class='preserveHtml'>" + desc + "</p>",
		"log_entry_url": s.logEntryURL(base),
	}}
}

// logEntryURL imitates the back-office log link of errors and refunds.
func (s *Sandbox) logEntryURL(base string) string {
	return fmt.Sprintf("%s/web#action=153&view_type=form&model=rest.log&id=%d", base, s.logSeq.Add(1))
}

// badRequest renders marshmallow-style validation errors:
// BadRequest {'redirect_url': ['Not a valid URL.']}.
func (s *Sandbox) badRequest(base string, errs map[string]string) *reply {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("'%s': ['%s']", k, errs[k]))
	}
	return s.flaskError(base, http.StatusBadRequest, "BadRequest {"+strings.Join(parts, ", ")+"}")
}

const (
	msgMissing = "Missing data for required field."
	msgURL     = "Not a valid URL."
	msgInt     = "Not a valid integer."
)

func (s *Sandbox) serveVIP(w http.ResponseWriter, r *http.Request, p string) {
	if s.cfg.Token == "" {
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(p, "/api/v1/"), "/"), "/")
	base := s.baseURL(r)
	var op string
	var h func(q *vipReq) *reply
	switch {
	case len(parts) >= 3 && parts[0] == "finance" && parts[1] == "settlements":
		op, h = s.vipFinanceRoute(parts[2:])
		if h != nil && r.Method != http.MethodGet {
			s.write(w, s.flaskError(base, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL."))
			return
		}
	case len(parts) == 2 && parts[1] == "orders" && slices.Contains(vipKinds, parts[0]):
		kind := parts[0]
		if r.Method != http.MethodPost {
			s.write(w, s.flaskError(base, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL."))
			return
		}
		op, h = "vip."+kind+".create", func(q *vipReq) *reply { return s.vipCreate(q, kind) }
	case len(parts) == 3 && parts[1] == "orders" && slices.Contains(vipKinds, parts[0]):
		kind, id := parts[0], parts[2]
		switch r.Method {
		case http.MethodGet:
			op, h = "vip."+kind+".query", func(q *vipReq) *reply { return s.vipQuery(q, id) }
		case http.MethodPut:
			op, h = "vip."+kind+".refund", func(q *vipReq) *reply { return s.vipRefund(q, id) }
		case http.MethodDelete:
			op, h = "vip."+kind+".cancel", func(q *vipReq) *reply { return s.vipCancel(q, id) }
		default:
			s.write(w, s.flaskError(base, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL."))
			return
		}
	}
	if h == nil {
		s.write(w, s.flaskError(base, http.StatusNotFound, "The requested URL was not found on the server."))
		return
	}
	f, ferr := vipFields(r)
	limited := func() *reply {
		// UNCONFIRMED: the gateway documents no rate limit; 429 is the HTTP way.
		return s.flaskError(base, http.StatusTooManyRequests, "Too Many Requests: rate limit exceeded, retry later.")
	}
	s.run(w, r, op, limited, func() *reply {
		if ferr != nil {
			return s.flaskError(base, http.StatusBadRequest, "BadRequest Failed to decode JSON object: "+ferr.Error())
		}
		q := &vipReq{r: r, f: f, base: base}
		var ok bool
		if q.prefix, ok = s.vipVerify(r, p, f); !ok {
			// UNCONFIRMED (API.md B.2): 401 for a missing or bad signature.
			return s.flaskError(base, http.StatusUnauthorized, "Unauthorized: signature verification failed.")
		}
		return h(q)
	})
}

// vipVerify checks the request signature against every path the client
// may have signed: the path as received (full, before any StripPrefix, in
// decoded and raw form) and the path relative to the sandbox root. It
// returns the prefix that verified, which then signs the answer.
func (s *Sandbox) vipVerify(r *http.Request, routed string, f map[string]any) (string, bool) {
	sig, _ := f["signature"].(string)
	if sig == "" {
		return "", false
	}
	cands := []string{receivedPath(r)}
	if raw, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(raw, "/") {
		cands = append(cands, raw)
	}
	cands = append(cands, r.URL.Path, routed)
	tries := []map[string]any{f}
	// payment_sdk_nodejs miniapp.orderQuery sends order_id (the path id) in
	// the query string without signing it (API.md B.4.2): retry without it.
	if _, ok := f["order_id"]; ok {
		g := make(map[string]any, len(f))
		for k, v := range f {
			if k != "order_id" {
				g[k] = v
			}
		}
		tries = append(tries, g)
	}
	for _, fields := range tries {
		seen := map[string]bool{}
		for _, c := range cands {
			if seen[c] {
				continue
			}
			seen[c] = true
			if ksign.VIPVerify(s.cfg.Token, c, fields, sig) == nil {
				return c, true
			}
		}
	}
	return "", false
}

// signed signs a vip answer object with the prefix that verified the
// request (Python-style rendering, log_entry_url excluded: API.md C.2.2).
func (s *Sandbox) signed(q *vipReq, obj map[string]any) *reply {
	obj["signature"] = ksign.VIPSign(s.cfg.Token, q.prefix, obj)
	return &reply{obj: obj, signKey: "signature"}
}

// normMid checks a mid against the configured ones; mids may be sent with
// or without the "mch" prefix.
func (s *Sandbox) normMid(mid string) (string, bool) {
	for _, m := range s.cfg.Mids {
		if m == mid || mchNumber(m) == mchNumber(mid) {
			return m, true
		}
	}
	return "", false
}

// vipStatus maps an order to status, error_code and error_message (B.6).
// Failed orders report Closed/FAIL, closed ones Closed/CLOSED and expired
// ones Closed/TIMEOUT (the last two codes are UNCONFIRMED).
func vipStatus(o *Order) (status, code, msg string) {
	switch o.State {
	case stPaid:
		if o.refunded() > 0 {
			return "Refunded", "REFUNDED", "The order is refunded, either fully or partially."
		}
		return "Paid", "SUCCESS", "Order Paid"
	case stFailed:
		return "Closed", "FAIL", "Fail"
	case stClosed, stReversed:
		return "Closed", "CLOSED", "Order Closed"
	case stExpired:
		return "Closed", "TIMEOUT", "Order Timeout"
	}
	if o.Kind == "cscanb" {
		return "Available", "PENDING", "PENDING"
	}
	return "Available", "PENDING", "Order is pending on further processing"
}

func gatewayOrderID(id int64) string { return "sandbox" + strconv.FormatInt(id, 10) }

// orderDate is vip order_date: UTC (gateway/times.go).
func orderDate(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000") }

// vipOrderObj is the order object of B.3.
func (s *Sandbox) vipOrderObj(o *Order, ts string) map[string]any {
	status, code, msg := vipStatus(o)
	mid := o.Mid
	if mid == "" {
		mid = "False"
	}
	reserved3 := "False"
	if o.ChannelError != "" {
		reserved3 = o.ChannelError
	}
	return map[string]any{
		"acquirer": "Ksher", "acquirer_order_id": o.KsherOrderNo, "amount": o.Amount,
		"api_name": vipAPIName[o.Kind], "channel": o.Channel, "channel_order_id": o.ChannelOrderNo,
		"cleared": false, "currency": o.Currency, "error_code": code, "error_message": msg,
		"force_clear": false, "gateway_order_id": gatewayOrderID(o.NumID), "id": strconv.FormatInt(o.NumID, 10),
		"locked": false, "merchant_order_id": o.MchOrderNo, "mid": mid, "note": o.Note,
		"order_date": orderDate(o.Created), "order_type": "Sale", "reference": s.vipReference(o),
		"reserved1": o.Reserved1, "reserved2": "False", "reserved3": reserved3, "reserved4": "False",
		"status": status, "timestamp": ts,
	}
}

// vipReference is the reference of B.3: the hosted page for redirect
// orders, an Alipay orderStr or WeChat prepay id for app and mini-program
// orders, the QR payload for C-scan-B.
func (s *Sandbox) vipReference(o *Order) string {
	switch o.Kind {
	case "redirect":
		return s.checkoutURL(o)
	case "cscanb":
		return emvPayload(o)
	case "miniapp", "app":
		switch o.Channel {
		case "wechat":
			return "wx" + o.Created.In(bangkok).Format("02150405") + o.UUID[:20]
		case "alipay", "alipayplus":
			return "app_id=2021000000000000&biz_content=" + url.QueryEscape(`{"out_trade_no":"`+o.UUID+`"}`) +
				"&charset=utf-8&method=alipay.trade.app.pay&sign_type=RSA2&sign=SANDBOX"
		}
		return s.checkoutURL(o)
	}
	return ""
}

// vipRefundObj is the refund record of B.4.3, with exactly the fields of
// the real dev-server sample (API.md D.2 G7) plus log_entry_url.
func (s *Sandbox) vipRefundObj(q *vipReq, o *Order, r *Refund) map[string]any {
	return map[string]any{
		"acquirer_order_id": o.KsherOrderNo, "amount": -r.Amount, "api_name": "general", "channel": o.Channel,
		"channel_order_id": o.ChannelOrderNo, "cleared": false, "currency": o.Currency,
		"error_code": "REFUNDED", "error_message": "The order is refunded.", "force_clear": false,
		"gateway_order_id": gatewayOrderID(r.NumID), "id": strconv.FormatInt(r.NumID, 10), "locked": false,
		"merchant_order_id": r.MchRefundNo, "order_type": "Refund", "reference": o.MchOrderNo,
		"status": "Refunded", "timestamp": q.ts(), "log_entry_url": s.logEntryURL(q.base),
	}
}

// vipBusinessFail answers a refused operation on an existing order: HTTP
// 200, the order object with error_code FAIL and the reason (UNCONFIRMED).
func (s *Sandbox) vipBusinessFail(q *vipReq, o *Order, msg string) *reply {
	obj := s.vipOrderObj(o, q.ts())
	obj["error_code"], obj["error_message"] = "FAIL", msg
	obj["log_entry_url"] = s.logEntryURL(q.base)
	return s.signed(q, obj)
}

func (s *Sandbox) vipCreate(q *vipReq, kind string) *reply {
	errs := map[string]string{}
	id := q.str("merchant_order_id")
	if id == "" {
		errs["merchant_order_id"] = msgMissing
	}
	amount, ok := q.int("amount")
	switch {
	case q.f["amount"] == nil:
		errs["amount"] = msgMissing
	case !ok || amount <= 0:
		errs["amount"] = msgInt
	}
	if q.ts() == "" && kind != "app" {
		errs["timestamp"] = msgMissing
	}
	ch := strings.ToLower(q.str("channel"))
	var chans []string
	switch kind {
	case "redirect":
		for _, k := range []string{"redirect_url", "redirect_url_fail"} {
			if q.str(k) == "" {
				errs[k] = msgMissing
			} else if !validURL(q.str(k)) {
				errs[k] = msgURL
			}
		}
		chans = splitChannels(ch)
		for _, c := range chans {
			if !slices.Contains(hostedChannels, c) {
				errs["channel"] = "Not a valid choice: " + c + "."
			}
		}
		ch = ""
	case "bscanc":
		if q.str("auth_code") == "" {
			errs["auth_code"] = msgMissing
		}
		vipCheckChannel(errs, ch, bscancChannels)
	case "cscanb":
		vipCheckChannel(errs, ch, nativeChannels)
	case "miniapp":
		vipCheckChannel(errs, ch, miniappChannels)
	case "app":
		vipCheckChannel(errs, ch, []string{"alipay", "wechat", "linepay", "airpay"})
	}
	mid := q.str("mid")
	merchant := ""
	if mid != "" {
		m, ok := s.normMid(mid)
		if !ok {
			return s.flaskError(q.base, http.StatusForbidden, "Forbidden: NOT allowed mid "+mid)
		}
		merchant = m
	} else if len(s.cfg.Mids) > 0 {
		merchant = s.cfg.Mids[0] // an order without mid belongs to the first sub-merchant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		if _, r := s.findVIPRefund(id); r != nil || s.findVIP(id) != nil {
			// UNCONFIRMED (API.md E.3): a duplicate id is a 400, not a replay.
			errs["merchant_order_id"] = "Duplicate merchant_order_id."
		}
	}
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	now := s.now()
	seq := s.nextSeq()
	o := &Order{
		UUID: newUUID(), API: apiVIP, Kind: kind, Merchant: merchant, Mid: mid, MchOrderNo: id, NumID: seq,
		Amount: amount, Currency: "THB", Channel: ch, Channels: chans, State: stPending,
		Product: q.str("product_name"), Note: q.str("note"), RedirectURL: q.str("redirect_url"),
		RedirectFailURL: q.str("redirect_url_fail"), OperatorID: q.str("operator_id"), DeviceID: q.str("device_id"),
		Openid: firstNonEmpty(q.str("miniapp_openid")), Timestamp: q.ts(), Created: now, BaseURL: q.base,
		Lang: "en", Reserved1: shortNo(now, seq),
	}
	o.ExpireAt = now.Add(v3OrderTTL)
	if kind == "redirect" {
		o.ExpireAt = now.Add(checkoutTTL)
	}
	if kind == "cscanb" {
		o.Reserved1 = qrDataURI(emvPayload(o))
	}
	s.st.Orders = append(s.st.Orders, o)
	if kind == "bscanc" {
		if strings.HasPrefix(q.str("auth_code"), "9") {
			// Test codes starting with 9 are refused (B.4.1: reserved3).
			o.State, o.ChannelError, o.ClosedAt = stFailed, "invalid_payment_code", now
			s.save()
			return s.signed(q, s.vipOrderObj(o, q.ts()))
		}
		s.markPaid(o, ch) // synchronous; the sandbox's vip B-scan-C never waits for a PIN
		return s.signed(q, s.vipOrderObj(o, q.ts()))
	}
	s.save()
	obj := s.vipOrderObj(o, q.ts())
	obj["error_code"], obj["error_message"] = "SUCCESS", "Successful"
	if kind == "miniapp" && ch == "wechat" {
		// wx.requestPayment parameters (payment_sdk_nodejs test/miniapp.test.js).
		m := hmac.New(sha256.New, []byte(s.cfg.Token))
		m.Write([]byte(o.UUID))
		obj["nonceStr"] = o.UUID
		obj["signType"] = "HMAC-SHA256"
		obj["paySign"] = strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	return s.signed(q, obj)
}

func vipCheckChannel(errs map[string]string, ch string, allowed []string) {
	switch {
	case ch == "":
		errs["channel"] = msgMissing
	case !slices.Contains(allowed, ch):
		errs["channel"] = "Must be one of: " + strings.Join(allowed, ", ") + "."
	}
}

// foreignMid refuses a mid the token may not use with 403, on every order
// API as on create (UNCONFIRMED, README choice 10).
func (s *Sandbox) foreignMid(q *vipReq) *reply {
	if mid := q.str("mid"); mid != "" {
		if _, ok := s.normMid(mid); !ok {
			return s.flaskError(q.base, http.StatusForbidden, "Forbidden: NOT allowed mid "+mid)
		}
	}
	return nil
}

func (s *Sandbox) vipQuery(q *vipReq, id string) *reply {
	if q.ts() == "" {
		return s.badRequest(q.base, map[string]string{"timestamp": msgMissing})
	}
	if rep := s.foreignMid(q); rep != nil {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.findVIP(id); o != nil {
		s.refresh(o)
		return s.signed(q, s.vipOrderObj(o, q.ts()))
	}
	// Refund records are orders too: querying a refund_order_id returns it,
	// which is how a client checks a refund after a lost answer.
	if o, r := s.findVIPRefund(id); r != nil {
		obj := s.vipRefundObj(q, o, r)
		return s.signed(q, obj)
	}
	// UNCONFIRMED: an unknown id is a 404 (B.2 lists 404 for missing resources).
	return s.flaskError(q.base, http.StatusNotFound, "Not Found: order "+id+" does not exist.")
}

func (s *Sandbox) vipRefund(q *vipReq, id string) *reply {
	errs := map[string]string{}
	refID := q.str("refund_order_id")
	if refID == "" {
		errs["refund_order_id"] = msgMissing
	}
	amount, ok := q.int("refund_amount")
	switch {
	case q.f["refund_amount"] == nil:
		errs["refund_amount"] = msgMissing
	case !ok || amount <= 0:
		errs["refund_amount"] = msgInt
	}
	if q.ts() == "" {
		errs["timestamp"] = msgMissing
	}
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	if rep := s.foreignMid(q); rep != nil {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findVIP(id)
	if o == nil {
		return s.flaskError(q.base, http.StatusNotFound, "Not Found: order "+id+" does not exist.")
	}
	s.refresh(o)
	// refund_order_id is unique. The same id for the same order and amount
	// returns the refund already made (never a second refund); any other
	// reuse is a 400 (UNCONFIRMED, API.md E.3).
	if po, r := s.findVIPRefund(refID); r != nil {
		if po == o && r.Amount == amount && !s.st.RefuseRepeats {
			return s.signed(q, s.vipRefundObj(q, o, r))
		}
		return s.badRequest(q.base, map[string]string{"refund_order_id": "Duplicate refund_order_id."})
	}
	if s.findVIP(refID) != nil {
		return s.badRequest(q.base, map[string]string{"refund_order_id": "Duplicate refund_order_id."})
	}
	switch {
	case !o.isPaid():
		return s.vipBusinessFail(q, o, "The order is not paid and cannot be refunded.")
	case amount+o.refunded() > o.Amount:
		return s.vipBusinessFail(q, o, fmt.Sprintf("Refund amount %d exceeds the refundable amount %d.", amount, o.Amount-o.refunded()))
	case amount < o.Amount && !refundRule(o.Channel).Partial:
		return s.vipBusinessFail(q, o, "Partial refund is not supported by channel "+o.Channel+".")
	}
	r := s.addRefund(o, refID, amount, q.ts())
	return s.signed(q, s.vipRefundObj(q, o, r))
}

// vipCancel closes an unpaid order. UNCONFIRMED (API.md B.4): every SDK
// has DELETE but the Node example server says "not supported yet"; the
// sandbox supports it.
func (s *Sandbox) vipCancel(q *vipReq, id string) *reply {
	if q.ts() == "" {
		return s.badRequest(q.base, map[string]string{"timestamp": msgMissing})
	}
	if rep := s.foreignMid(q); rep != nil {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findVIP(id)
	if o == nil {
		return s.flaskError(q.base, http.StatusNotFound, "Not Found: order "+id+" does not exist.")
	}
	s.refresh(o)
	if o.isPaid() {
		return s.vipBusinessFail(q, o, "A paid order cannot be cancelled; refund it instead.")
	}
	if o.payable() {
		s.close(o, stClosed)
	}
	return s.signed(q, s.vipOrderObj(o, q.ts()))
}
