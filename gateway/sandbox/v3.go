package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// v3 err_code values. KSHER_INVALID_ORDER_NO, PAYMENT_IN_PROCESS,
// KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS and SYSTEMERROR are documented
// (API.md A.5); Ksher publishes no full list, so the others are
// UNCONFIRMED choices: WeChat-Pay-style names where Ksher's API is modelled
// on WeChat's (SIGNERROR, PARAM_ERROR, AUTH_CODE_INVALID), KSHER_-prefixed
// names for Ksher's own business rules.
const (
	errInvalidOrderNo  = "KSHER_INVALID_ORDER_NO"
	errTooManyRequests = "KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS"
	errInProcess       = "PAYMENT_IN_PROCESS"
	errSign            = "SIGNERROR"
	errParam           = "PARAM_ERROR"
	errAppID           = "KSHER_INVALID_APPID"
	errDuplicateOrder  = "KSHER_DUPLICATE_ORDER_NO"
	errDuplicateRefund = "KSHER_DUPLICATE_REFUND_NO"
	errInvalidRefundNo = "KSHER_INVALID_REFUND_NO"
	errRefundExceeded  = "KSHER_REFUND_AMOUNT_EXCEEDED"
	errNoPartial       = "KSHER_PARTIAL_REFUND_NOT_ALLOWED"
	errNotPaid         = "KSHER_ORDER_NOT_PAID"
	errOrderStatus     = "KSHER_ORDER_STATUS_ERROR"
	errChannel         = "KSHER_CHANNEL_NOT_SUPPORTED"
	errNoRefundQuery   = "KSHER_REFUND_QUERY_NOT_SUPPORTED"
	errAuthCode        = "AUTH_CODE_INVALID"
	errBalance         = "KSHER_PAYOUT_INSUFFICIENT_BALANCE"
)

// v3Operations lists the operations served under /KsherPay/ (and the three
// gateway.ksher.com ones under /api/).
var v3Operations = []string{
	"quick_pay", "native_pay", "jsapi_pay", "mini_program_pay", "app_pay", "wap_pay", "web_pay",
	"order_query", "order_close", "order_reverse", "order_refund", "refund_query", "rate_query",
	"merchant_info", "get_settlement_info", "payout", "order_query_payout", "get_payout_balance",
}

var v3GatewayOperations = []string{"gateway_pay", "gateway_order_query", "cancel_order"}

// Expiry of unpaid orders: Ksher keeps polling the wallet for about 2 h
// after creation (API.md A.6); the hosted page defaults to 60 minutes
// unless gateway_pay's expire_time says otherwise (UNCONFIRMED default).
const (
	v3OrderTTL    = 2 * time.Hour
	checkoutTTL   = 60 * time.Minute
	queryInterval = 10 * time.Second
	// quick_pay auth codes starting with "8" wait for the payer's PIN and
	// succeed after pinDelay; "88..." never complete on their own.
	pinDelay = 30 * time.Second
	// payoutFloat is the payout balance of a fresh sandbox merchant.
	payoutFloat = 100_000_000
	payoutMDR   = 1500
)

// v3Fields reads v3 fields from the query string and the body, whatever
// the method (API.md A.1: the Python SDK sends GET + query string). Body
// fields win over query fields. A JSON body is accepted too.
func v3Fields(r *http.Request) map[string]string {
	f := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err == nil {
			for k, v := range r.MultipartForm.Value {
				if len(v) > 0 {
					f[k] = v[0]
				}
			}
		}
		return f
	}
	body := strings.TrimSpace(string(readBody(r)))
	if body == "" {
		return f
	}
	if strings.HasPrefix(body, "{") {
		if m, err := ksign.DecodeObject([]byte(body)); err == nil {
			for k, v := range m {
				f[k] = fmt.Sprint(v)
			}
			return f
		}
	}
	if vals, err := url.ParseQuery(body); err == nil {
		for k, v := range vals {
			if len(v) > 0 {
				f[k] = v[0]
			}
		}
	}
	return f
}

func (s *Sandbox) serveV3(w http.ResponseWriter, r *http.Request, op string, gateway bool) {
	known := slices.Contains(v3Operations, op)
	if gateway {
		known = slices.Contains(v3GatewayOperations, op)
	}
	if !known || len(s.cfg.AppIDs) == 0 {
		http.NotFound(w, r)
		return
	}
	f := v3Fields(r)
	limited := func() *reply {
		return s.v3Reply(op, gateway, v3Fail(f, errTooManyRequests, "too many requests, please retry later"))
	}
	base := s.baseURL(r)
	s.run(w, r, op, limited, func() *reply { return s.v3Reply(op, gateway, s.handleV3(op, f, base)) })
}

// v3Reply wraps data in Ksher's envelope (API.md A.1), signed over data
// (or its subset for merchant_info/get_settlement_info).
func (s *Sandbox) v3Reply(op string, gateway bool, data map[string]any) *reply {
	return &reply{obj: s.v3Envelope(op, gateway, data), signKey: "sign"}
}

func (s *Sandbox) v3Envelope(op string, gateway bool, data map[string]any) map[string]any {
	sign, err := ksign.V3Sign(s.cfg.KsherKey, ksign.V3ResponseSubset(op, data))
	if err != nil {
		s.log.Error("Sandbox response not signed.", "op", op, "error", err)
	}
	env := map[string]any{
		"code": 0, "msg": "ok", "status_code": "", "status_msg": "",
		"sign": sign, "version": "3.0.0", "data": data,
	}
	if gateway {
		// gateway.ksher.com answers carry "message" and no time_stamp (A.1).
		env["msg"], env["message"] = "SUCCESS", "SUCCESS"
	} else {
		env["time_stamp"] = s.now().In(china).Format("2006-01-02T15:04:05.000000-07:00")
	}
	return env
}

// v3Fail is the failure data of A.1: err_code, err_msg, nonce_str, result.
func v3Fail(f map[string]string, code, msg string) map[string]any {
	return map[string]any{"err_code": code, "err_msg": msg, "nonce_str": f["nonce_str"], "result": "FAIL"}
}

// handleV3 verifies the request and carries out op; it returns the data
// object of the answer.
// base is the sandbox URL the client used (for pay_content links).
func (s *Sandbox) handleV3(op string, f map[string]string, base string) map[string]any {
	appid := f["appid"]
	if op == "get_settlement_info" && f["mch_appid"] != "" {
		appid = f["mch_appid"] // API.md A.2: this operation names it mch_appid
	}
	if appid == "" {
		return v3Fail(f, errParam, "appid is required")
	}
	pub, ok := s.cfg.AppIDs[appid]
	if !ok {
		return v3Fail(f, errAppID, "appid "+appid+" does not exist")
	}
	// A bad or missing sign is answered like any business failure (code 0,
	// result FAIL) with err_code SIGNERROR: the envelope the official SDKs
	// build for their own VERIFY_KSHER_SIGN_FAIL, so their error paths work;
	// the code name itself is UNCONFIRMED (WeChat Pay's, which Ksher mirrors).
	if f["sign"] == "" {
		return v3Fail(f, errSign, "sign is required")
	}
	fields := make(map[string]any, len(f))
	for k, v := range f {
		fields[k] = v
	}
	if err := ksign.V3Verify(pub, fields, f["sign"]); err != nil {
		return v3Fail(f, errSign, "verify sign failed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return v3Fail(f, "SYSTEMERROR", "system error")
	}
	switch op {
	case "quick_pay":
		return s.v3QuickPay(appid, f)
	case "native_pay", "jsapi_pay", "mini_program_pay", "app_pay", "wap_pay", "web_pay":
		return s.v3CreatePay(appid, op, f, base)
	case "gateway_pay":
		return s.v3GatewayPay(appid, f, base)
	case "gateway_order_query":
		return s.v3GatewayQuery(appid, f)
	case "cancel_order":
		return s.v3CancelOrder(appid, f)
	case "order_query":
		return s.v3OrderQuery(appid, f)
	case "order_close":
		return s.v3OrderClose(appid, f)
	case "order_reverse":
		return s.v3OrderReverse(appid, f)
	case "order_refund":
		return s.v3OrderRefund(appid, f)
	case "refund_query":
		return s.v3RefundQuery(appid, f)
	case "rate_query":
		return s.v3RateQuery(appid, f)
	case "merchant_info":
		return s.v3MerchantInfo(appid, f)
	case "get_settlement_info":
		return s.v3SettlementInfo(appid, f)
	case "payout":
		return s.v3Payout(appid, f)
	case "order_query_payout":
		return s.v3PayoutQuery(appid, f)
	case "get_payout_balance":
		return s.v3PayoutBalance(appid, f)
	}
	return v3Fail(f, errParam, "unknown operation")
}

// missing returns the first required field that is empty.
func missing(f map[string]string, names ...string) string {
	for _, n := range names {
		if f[n] == "" {
			return n
		}
	}
	return ""
}

var (
	feeTypeRE = regexp.MustCompile(`^[A-Z]{3}$`)
	dateRE    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// parseAmount parses a positive integer amount in minor units.
func parseAmount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 12 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// v3NewOrder validates the common create fields and builds the order; it
// returns failure data instead when something is wrong.
func (s *Sandbox) v3NewOrder(appid, kind string, f map[string]string, need ...string) (*Order, map[string]any) {
	if kind == "mini_program_pay" && f["total_fee"] == "" && f["local_total_fee"] != "" {
		f["total_fee"] = f["local_total_fee"] // PHP SDK docstring name
	}
	if m := missing(f, append([]string{"mch_order_no", "total_fee", "fee_type"}, need...)...); m != "" {
		return nil, v3Fail(f, errParam, m+" is required")
	}
	if len(f["mch_order_no"]) > 32 {
		return nil, v3Fail(f, errParam, "mch_order_no is longer than 32 characters")
	}
	amount, ok := parseAmount(f["total_fee"])
	if !ok {
		return nil, v3Fail(f, errParam, "total_fee must be a positive integer in cents")
	}
	if !feeTypeRE.MatchString(f["fee_type"]) {
		return nil, v3Fail(f, errParam, "fee_type must be an ISO 4217 code such as THB")
	}
	if s.v3NoTaken(appid, kind, f["mch_order_no"]) {
		// UNCONFIRMED (API.md A.7): re-using mch_order_no fails, it does not
		// return the existing order.
		return nil, v3Fail(f, errDuplicateOrder, "mch_order_no "+f["mch_order_no"]+" already exists")
	}
	now := s.now()
	seq := s.nextSeq()
	o := &Order{
		UUID: newUUID(), API: apiV3, Kind: kind, Merchant: appid, MchOrderNo: f["mch_order_no"],
		NumID: seq, Amount: amount, Currency: f["fee_type"], Channel: strings.ToLower(f["channel"]),
		State: stPending, Product: firstNonEmpty(f["product"], f["product_name"], f["paypage_title"]),
		Attach: f["attach"], NotifyURL: f["notify_url"], RedirectURL: f["redirect_url"],
		ReferURL: f["refer_url"], OperatorID: f["operator_id"], DeviceID: f["device_id"],
		Lang: f["lang"], Created: now, ExpireAt: now.Add(v3OrderTTL),
	}
	if kind != "gateway_pay" {
		o.KsherOrderNo = ksherNo("900", now, seq)
	}
	return o, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// checkChannel checks a channel against the set allowed for an operation
// and the channel's minimum amount.
func checkChannel(f map[string]string, ch string, allowed []string, amount int64, cur string) map[string]any {
	if !slices.Contains(allowed, ch) {
		return v3Fail(f, errChannel, fmt.Sprintf("channel %q is not supported here (supported: %s)", ch, strings.Join(allowed, ",")))
	}
	if cur == "THB" && amount < ruleFor(ch).min {
		return v3Fail(f, errParam, fmt.Sprintf("total_fee is below the %s minimum of %d", ch, ruleFor(ch).min))
	}
	return nil
}

func (s *Sandbox) v3QuickPay(appid string, f map[string]string) map[string]any {
	o, fail := s.v3NewOrder(appid, "quick_pay", f, "auth_code", "channel")
	if fail != nil {
		return fail
	}
	if fail := checkChannel(f, o.Channel, bscancChannels, o.Amount, o.Currency); fail != nil {
		return fail
	}
	s.st.Orders = append(s.st.Orders, o)
	code := f["auth_code"]
	switch {
	case strings.HasPrefix(code, "9"):
		// Test codes starting with 9 are refused by the wallet.
		o.State, o.ChannelError, o.ClosedAt = stFailed, "invalid_payment_code", s.now()
		s.save()
		return map[string]any{"err_code": errAuthCode, "err_msg": "invalid_payment_code: the payment code is invalid or expired",
			"ksher_order_no": o.KsherOrderNo, "mch_order_no": o.MchOrderNo, "nonce_str": f["nonce_str"], "result": "FAIL"}
	case strings.HasPrefix(code, "8"):
		// Codes starting with 8 wait for the payer's PIN: NOTSURE now,
		// SUCCESS after pinDelay ("88..." never, the client must reverse).
		o.State = stPaying
		if !strings.HasPrefix(code, "88") {
			o.ResolveAt = s.now().Add(pinDelay)
		}
		s.save()
		return map[string]any{"err_code": errInProcess, "err_msg": "waiting for the payer to enter the password",
			"ksher_order_no": o.KsherOrderNo, "mch_order_no": o.MchOrderNo, "nonce_str": f["nonce_str"], "result": "NOTSURE"}
	}
	s.markPaid(o, o.Channel)
	d := s.v3OrderData(o, f["nonce_str"], "QUICK-PAY")
	for _, k := range []string{"consumer_remark", "merchant_remark", "raw_total_fee"} {
		delete(d, k)
	}
	return d
}

func (s *Sandbox) v3CreatePay(appid, op string, f map[string]string, base string) map[string]any {
	var need []string
	allowed := hostedChannels
	tradeType := map[string]string{"native_pay": "NATIVE", "jsapi_pay": "JSAPI", "mini_program_pay": "MINIPRO",
		"app_pay": "APP", "wap_pay": "WAP", "web_pay": "WEB"}[op]
	switch op {
	case "native_pay":
		allowed = nativeChannels
	case "jsapi_pay":
		allowed = miniappChannels
	case "mini_program_pay":
		allowed, need = miniappChannels, []string{"sub_openid", "channel_sub_appid"}
	case "app_pay":
		allowed, need = appChannels, []string{"sub_openid", "channel_sub_appid"}
	}
	o, fail := s.v3NewOrder(appid, op, f, append([]string{"channel"}, need...)...)
	if fail != nil {
		return fail
	}
	if fail := checkChannel(f, o.Channel, allowed, o.Amount, o.Currency); fail != nil {
		return fail
	}
	o.Channels = []string{o.Channel}
	o.Openid = f["sub_openid"]
	o.BaseURL = base
	s.st.Orders = append(s.st.Orders, o)
	s.save()
	d := map[string]any{
		"appid": appid, "device_id": o.DeviceID, "fee_type": o.Currency, "ksher_order_no": o.KsherOrderNo,
		"mch_order_no": o.MchOrderNo, "nonce_str": f["nonce_str"], "result": "SUCCESS",
		"total_fee": o.Amount, "trade_type": tradeType,
	}
	if op == "native_pay" {
		payload := emvPayload(o)
		d["PaymentCode"], d["code_url"] = payload, payload
		d["PaymentID"] = shortNo(o.Created, o.NumID)
		d["imgdat"] = qrDataURI(payload)
		d["stalls_name"] = "Sandbox shop " + appid
		return d
	}
	// UNCONFIRMED (API.md U.1): no signed sample of these responses exists.
	// pay_content is the sandbox's hosted page for this order, where a person
	// (or /_sandbox/pay) completes the payment.
	d["pay_content"] = s.checkoutURL(o)
	return d
}

func (s *Sandbox) v3GatewayPay(appid string, f map[string]string, base string) map[string]any {
	o, fail := s.v3NewOrder(appid, "gateway_pay", f, "channel_list", "mch_code", "mch_redirect_url",
		"mch_redirect_url_fail", "product_name", "refer_url")
	if fail != nil {
		return fail
	}
	chans := splitChannels(f["channel_list"])
	for _, c := range chans {
		if !slices.Contains(hostedChannels, c) {
			return v3Fail(f, errChannel, fmt.Sprintf("channel %q in channel_list is not supported", c))
		}
	}
	for _, k := range []string{"mch_redirect_url", "mch_redirect_url_fail"} {
		if !validURL(f[k]) {
			return v3Fail(f, errParam, k+" is not a valid URL")
		}
	}
	if f["expire_time"] != "" {
		mins, ok := parseAmount(f["expire_time"])
		if !ok {
			return v3Fail(f, errParam, "expire_time must be a number of minutes")
		}
		o.ExpireAt = o.Created.Add(time.Duration(mins) * time.Minute)
	} else {
		o.ExpireAt = o.Created.Add(checkoutTTL)
	}
	o.Channel, o.Channels = "", chans
	o.MchCode, o.ShopName = f["mch_code"], f["shop_name"]
	o.NotifyURL = f["mch_notify_url"]
	o.RedirectURL, o.RedirectFailURL = f["mch_redirect_url"], f["mch_redirect_url_fail"]
	o.PayMchOrderNo = shortNo(o.Created, o.NumID)
	o.BaseURL = base
	if o.Lang == "" {
		o.Lang = "en"
	}
	s.st.Orders = append(s.st.Orders, o)
	s.save()
	return map[string]any{"pay_content": s.checkoutURL(o)}
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// v3Result maps an order to data.result (API.md A.5).
func v3Result(o *Order) string {
	switch o.State {
	case stPaid:
		if o.refunded() > 0 {
			return "REFUND"
		}
		return "SUCCESS"
	case stPaying:
		return "USERPAYING"
	case stAbandoned:
		return "NOTPAY"
	case stFailed:
		return "PAYERROR"
	case stReversed:
		if o.refunded() > 0 {
			return "REFUND"
		}
		return "CLOSED"
	case stClosed, stExpired:
		return "CLOSED"
	}
	return "NOTSURE"
}

// v3MchNo is the mch_order_no under which KsherPay operations know o.
func v3MchNo(o *Order) string {
	if o.Kind == "gateway_pay" {
		return o.PayMchOrderNo
	}
	return o.MchOrderNo
}

func timeEnd(o *Order) string {
	if o.PaidAt.IsZero() {
		return ""
	}
	return o.PaidAt.In(bangkok).Format("2006-01-02 15:04:05")
}

// v3OrderData is order_query's data (API.md A.4).
func (s *Sandbox) v3OrderData(o *Order, nonce, operation string) map[string]any {
	var cash int64
	var cashType, rate string
	if !o.PaidAt.IsZero() {
		cash, cashType, rate = cashFor(o.Amount, o.Currency, o.Channel)
	}
	return map[string]any{
		"appid": o.Merchant, "attach": o.Attach, "cash_fee": cash, "cash_fee_type": cashType,
		"channel": o.Channel, "channel_order_no": o.ChannelOrderNo, "consumer_remark": "",
		"device_id": o.DeviceID, "fee_type": o.Currency, "ksher_order_no": o.KsherOrderNo,
		"mch_order_no": v3MchNo(o), "merchant_remark": "", "nonce_str": nonce, "openid": o.Openid,
		"operation": operation, "operator_id": o.OperatorID, "rate": rate, "raw_total_fee": o.Amount,
		"result": v3Result(o), "time_end": timeEnd(o), "total_fee": o.Amount,
	}
}

// v3GatewayData is gateway_order_query's data (API.md A.4): unpaid orders
// have empty strings where paid ones have values.
func (s *Sandbox) v3GatewayData(o *Order, nonce string) map[string]any {
	d := map[string]any{
		"appid": o.Merchant, "attach": o.Attach, "cash_fee": "", "cash_fee_type": "", "channel": o.Channel,
		"channel_order_no": o.ChannelOrderNo, "fee_type": o.Currency, "ksher_order_no": o.KsherOrderNo,
		"mch_order_no": o.MchOrderNo, "nonce_str": nonce, "openid": o.Openid,
		"pay_mch_order_no": o.PayMchOrderNo, "rate": "", "result": v3Result(o), "time_end": timeEnd(o),
		"total_fee": o.Amount,
	}
	if !o.PaidAt.IsZero() {
		cash, cashType, rate := cashFor(o.Amount, o.Currency, o.Channel)
		d["cash_fee"], d["cash_fee_type"], d["rate"] = cash, cashType, rate
	}
	return d
}

// v3Find looks up an order by one of the three ids; it returns failure
// data when no id is given or nothing matches.
func (s *Sandbox) v3Find(appid string, f map[string]string) (*Order, map[string]any) {
	if f["mch_order_no"] == "" && f["ksher_order_no"] == "" && f["channel_order_no"] == "" {
		return nil, v3Fail(f, errParam, "one of mch_order_no, ksher_order_no, channel_order_no is required")
	}
	o := s.findV3(appid, f["mch_order_no"], f["ksher_order_no"], f["channel_order_no"])
	if o == nil {
		return nil, v3Fail(f, errInvalidOrderNo, fmt.Sprintf("failed to find this order no ('mch_order_no:%s ksher_order_no:%s channel_order_no:%s' ).",
			f["mch_order_no"], f["ksher_order_no"], f["channel_order_no"]))
	}
	s.refresh(o)
	return o, nil
}

func (s *Sandbox) v3OrderQuery(appid string, f map[string]string) map[string]any {
	o, fail := s.v3Find(appid, f)
	if fail != nil {
		return fail
	}
	// API.md A.7: at least 10 s between queries of one order. Measured from
	// the last query that was answered, so a client polling every 5 s gets
	// every other answer (UNCONFIRMED which one Ksher measures from).
	now := s.now()
	if !o.LastQuery.IsZero() && now.Sub(o.LastQuery) < queryInterval {
		return v3Fail(f, errTooManyRequests, "order query too frequent, please keep at least 10 seconds between queries of one order")
	}
	o.LastQuery = now
	s.save()
	return s.v3OrderData(o, f["nonce_str"], "ORDER-QUERY")
}

func (s *Sandbox) v3GatewayQuery(appid string, f map[string]string) map[string]any {
	if f["mch_order_no"] == "" {
		return v3Fail(f, errParam, "mch_order_no is required")
	}
	o := s.findGateway(appid, f["mch_order_no"])
	if o == nil {
		return v3Fail(f, errInvalidOrderNo, "failed to find this order no ('mch_order_no:"+f["mch_order_no"]+"').")
	}
	s.refresh(o)
	return s.v3GatewayData(o, f["nonce_str"])
}

func (s *Sandbox) v3CancelOrder(appid string, f map[string]string) map[string]any {
	if f["mch_order_no"] == "" {
		return v3Fail(f, errParam, "mch_order_no is required")
	}
	o := s.findGateway(appid, f["mch_order_no"])
	if o == nil {
		return v3Fail(f, errInvalidOrderNo, "failed to find this order no ('mch_order_no:"+f["mch_order_no"]+"').")
	}
	s.refresh(o)
	if o.isPaid() || o.State == stReversed {
		return v3Fail(f, errOrderStatus, "the order is paid and cannot be cancelled; refund it instead")
	}
	s.close(o, stClosed)
	return map[string]any{"appid": appid, "mch_order_no": o.MchOrderNo, "nonce_str": f["nonce_str"], "result": "SUCCESS"}
}

func (s *Sandbox) v3OrderClose(appid string, f map[string]string) map[string]any {
	o, fail := s.v3Find(appid, f)
	if fail != nil {
		return fail
	}
	if o.isPaid() || o.State == stReversed {
		return v3Fail(f, errOrderStatus, "the order is paid and cannot be closed; refund it instead")
	}
	if o.State == stPaying {
		return v3Fail(f, errOrderStatus, "the payer is paying; use order_reverse")
	}
	s.close(o, stClosed)
	return map[string]any{"appid": appid, "mch_order_no": v3MchNo(o), "nonce_str": f["nonce_str"], "result": "SUCCESS"}
}

// v3OrderReverse cancels an order whatever its state: unpaid orders are
// closed, a paid one is refunded in full first (the reversal of an
// in-flight B-scan-C payment, API.md A.3). An order already partly refunded
// cannot be reversed (UNCONFIRMED).
func (s *Sandbox) v3OrderReverse(appid string, f map[string]string) map[string]any {
	o, fail := s.v3Find(appid, f)
	if fail != nil {
		return fail
	}
	switch {
	case o.State == stReversed:
	case o.isPaid() && o.refunded() > 0:
		return v3Fail(f, errOrderStatus, "the order is partly refunded and cannot be reversed")
	case o.isPaid():
		now := s.now()
		seq := s.nextSeq()
		o.Refunds = append(o.Refunds, &Refund{MchRefundNo: "", KsherRefundNo: ksherNo("700", now, seq),
			ChannelRefundNo: channelNo(o.Channel, now, seq), NumID: seq, Amount: o.Amount, Time: now, Reverse: true})
		o.State, o.ClosedAt = stReversed, now
		s.save()
	default:
		s.close(o, stReversed)
	}
	return map[string]any{"appid": appid, "ksher_order_no": o.KsherOrderNo, "mch_order_no": v3MchNo(o),
		"nonce_str": f["nonce_str"], "operation": "ORDER-REVERSE", "result": "SUCCESS"}
}

// partialAllowed says whether appid may refund less than the order amount
// on channel: both the channel (gateway.RefundRule) and the merchant flag
// allow_partial_refund must allow it.
func (s *Sandbox) partialAllowed(appid, channel string) bool {
	return refundRule(channel).Partial && !s.st.NoPartial[appid]
}

func (s *Sandbox) v3OrderRefund(appid string, f map[string]string) map[string]any {
	if m := missing(f, "mch_refund_no", "total_fee", "refund_fee", "fee_type"); m != "" {
		return v3Fail(f, errParam, m+" is required")
	}
	o, fail := s.v3Find(appid, f)
	if fail != nil {
		return fail
	}
	refundFee, ok := parseAmount(f["refund_fee"])
	if !ok {
		return v3Fail(f, errParam, "refund_fee must be a positive integer in cents")
	}
	// mch_refund_no is single-use. Replaying the same number for the same
	// order and amount returns the refund already made (nothing is refunded
	// twice), so a client may safely retry after a timeout; any other reuse
	// fails (UNCONFIRMED: Ksher documents single use, not the replay answer;
	// SetRepeatedRefunds(RepeatRefused) plays the other reading).
	if po, r := s.findV3Refund(appid, f["mch_refund_no"]); r != nil {
		if po != o || r.Amount != refundFee || s.st.RefuseRepeats {
			return v3Fail(f, errDuplicateRefund, "mch_refund_no "+f["mch_refund_no"]+" has already been used")
		}
		return s.v3RefundData(o, r, f["nonce_str"])
	}
	if total, ok := parseAmount(f["total_fee"]); !ok || total != o.Amount {
		return v3Fail(f, errParam, "total_fee does not match the order amount")
	}
	if f["fee_type"] != o.Currency {
		return v3Fail(f, errParam, "fee_type does not match the order currency")
	}
	if !o.isPaid() {
		return v3Fail(f, errNotPaid, "the order is not paid ("+v3Result(o)+") and cannot be refunded")
	}
	if refundRule(o.Channel).ByKsherOrderID && f["ksher_order_no"] == "" {
		// API.md A.3: card refunds need ksher_order_no.
		return v3Fail(f, errParam, "card refunds need ksher_order_no")
	}
	if refundFee+o.refunded() > o.Amount {
		return v3Fail(f, errRefundExceeded, fmt.Sprintf("refund_fee %d is more than the refundable amount %d", refundFee, o.Amount-o.refunded()))
	}
	if refundFee < o.Amount && !s.partialAllowed(appid, o.Channel) {
		return v3Fail(f, errNoPartial, "partial refunds are not allowed for channel "+o.Channel+" or this merchant")
	}
	r := s.addRefund(o, f["mch_refund_no"], refundFee, "")
	return s.v3RefundData(o, r, f["nonce_str"])
}

// addRefund records a refund (caller holds s.mu) and announces it.
func (s *Sandbox) addRefund(o *Order, no string, amount int64, ts string) *Refund {
	now := s.now()
	seq := s.nextSeq()
	r := &Refund{MchRefundNo: no, KsherRefundNo: ksherNo("700", now, seq), ChannelRefundNo: channelNo(o.Channel, now, seq),
		NumID: seq, Amount: amount, Time: now, Timestamp: ts}
	o.Refunds = append(o.Refunds, r)
	s.save()
	if o.API == apiVIP {
		s.webhook(o, "Order Refunded")
	}
	return r
}

// v3RefundData is order_refund's data. UNCONFIRMED (API.md A.4): no signed
// sample exists; it carries the refund ids, amounts and order ids.
func (s *Sandbox) v3RefundData(o *Order, r *Refund, nonce string) map[string]any {
	cash, cashType, _ := cashFor(r.Amount, o.Currency, o.Channel)
	return map[string]any{
		"appid": o.Merchant, "attach": o.Attach, "cash_fee_type": cashType, "cash_refund_fee": cash,
		"channel": o.Channel, "channel_order_no": o.ChannelOrderNo, "channel_refund_no": r.ChannelRefundNo,
		"fee_type": o.Currency, "ksher_order_no": o.KsherOrderNo, "ksher_refund_no": r.KsherRefundNo,
		"mch_order_no": v3MchNo(o), "mch_refund_no": r.MchRefundNo, "nonce_str": nonce,
		"operation": "ORDER-REFUND", "refund_fee": r.Amount,
		"refund_time": r.Time.In(bangkok).Format("2006-01-02 15:04:05"), "result": "SUCCESS", "total_fee": o.Amount,
	}
}

func (s *Sandbox) v3RefundQuery(appid string, f map[string]string) map[string]any {
	var o *Order
	// A.3 wants a refund id and an order id; the sandbox also accepts either
	// alone (lenient, UNCONFIRMED).
	if f["mch_order_no"] != "" || f["ksher_order_no"] != "" || f["channel_order_no"] != "" {
		var fail map[string]any
		if o, fail = s.v3Find(appid, f); fail != nil {
			return fail
		}
	}
	refNo, ksherRef, chanRef := f["mch_refund_no"], f["ksher_refund_no"], f["channel_refund_no"]
	match := func(r *Refund) bool {
		return (refNo != "" && r.MchRefundNo == refNo) || (ksherRef != "" && r.KsherRefundNo == ksherRef) ||
			(chanRef != "" && r.ChannelRefundNo == chanRef)
	}
	if o == nil {
		if refNo == "" && ksherRef == "" && chanRef == "" {
			return v3Fail(f, errParam, "one of mch_refund_no, ksher_refund_no, channel_refund_no and one order id are required")
		}
		for _, c := range s.st.Orders {
			if c.API == apiV3 && c.Merchant == appid && slices.ContainsFunc(c.Refunds, match) {
				o = c
				break
			}
		}
		if o == nil {
			return v3Fail(f, errInvalidRefundNo, "failed to find this refund no")
		}
	} else if (refNo != "" || ksherRef != "" || chanRef != "") && !slices.ContainsFunc(o.Refunds, match) {
		return v3Fail(f, errInvalidRefundNo, "failed to find this refund no for the order")
	}
	if !refundRule(o.Channel).RefundQuery {
		// API.md A.7: PromptPay and Alipay do not support refund_query; the
		// err_code is UNCONFIRMED. Clients use order_query for them.
		return v3Fail(f, errNoRefundQuery, "refund_query is not supported for channel "+o.Channel+"; use order_query")
	}
	if len(o.Refunds) == 0 {
		return v3Fail(f, errInvalidRefundNo, "the order has no refund")
	}
	rows := make([]map[string]any, 0, len(o.Refunds))
	for _, r := range o.Refunds {
		rows = append(rows, map[string]any{
			"channel_refund_no": r.ChannelRefundNo, "ksher_refund_no": r.KsherRefundNo, "mch_refund_fee": r.Amount,
			"mch_refund_no": r.MchRefundNo, "refund_state": "REFUNDSUCCESS",
			"refund_time": r.Time.In(bangkok).Format("2006-01-02 15:04:05"),
		})
	}
	cash, cashType, _ := cashFor(o.Amount, o.Currency, o.Channel)
	// refund_count and refund_fee are strings, as in Ksher's signed sample.
	return map[string]any{
		"appid": appid, "cash_fee": cash, "cash_fee_type": cashType, "channel_order_no": o.ChannelOrderNo,
		"fee_type": o.Currency, "ksher_order_no": o.KsherOrderNo, "mch_order_no": v3MchNo(o),
		"nonce_str": f["nonce_str"], "refund_count": strconv.Itoa(len(o.Refunds)),
		"refund_fee": strconv.FormatInt(o.refunded(), 10), "refund_orders": rows, "result": "SUCCESS",
		"time_end": timeEnd(o), "total_fee": o.Amount,
	}
}

func (s *Sandbox) v3RateQuery(appid string, f map[string]string) map[string]any {
	if m := missing(f, "channel", "fee_type", "date"); m != "" {
		return v3Fail(f, errParam, m+" is required")
	}
	if !dateRE.MatchString(f["date"]) {
		return v3Fail(f, errParam, "date must be YYYY-mm-dd")
	}
	_, cashType, rate := cashFor(100, f["fee_type"], strings.ToLower(f["channel"]))
	// UNCONFIRMED field list (API.md U.1).
	return map[string]any{"appid": appid, "cash_fee_type": cashType, "channel": f["channel"], "date": f["date"],
		"fee_type": f["fee_type"], "nonce_str": f["nonce_str"], "rate": rate, "result": "SUCCESS"}
}

// mchNumber is the number of an appid or mid: mch35000 -> 35000.
func mchNumber(id string) string { return strings.TrimPrefix(id, "mch") }

func (s *Sandbox) v3MerchantInfo(appid string, f map[string]string) map[string]any {
	partial := "Y"
	if s.st.NoPartial[appid] {
		partial = "N"
	}
	var support []map[string]any
	for _, ch := range defaultCheckout {
		support = append(support, map[string]any{"day_sum_limit": 100000000, "pay_channel": ch,
			"settlement_time_type": fmt.Sprintf("T+%d", ruleFor(ch).cycle), "single_order_limit": 10000000})
	}
	num := mchNumber(appid)
	return map[string]any{
		"account_type": "Test", "agency_info": map[string]any{}, "allow_partial_refund": partial, "allow_remote_pay": "Y",
		"bank_info": map[string]any{"account_name": "Sandbox Merchant Co., Ltd.", "account_no": "xxx-x-x" + num, "bank_name": "Sandbox Bank"},
		"bd_info":   map[string]any{}, "business_address_code": "10110", "business_mode": "online",
		"city_name_cn": "曼谷", "city_name_en": "Bangkok", "city_name_th": "กรุงเทพมหานคร", "contact": "Sandbox Merchant",
		"country_info": map[string]any{"country_code": "TH", "currency": "THB"}, "country_support_channel": hostedChannels,
		"extra_info": "", "has_open_use_coupon": "N", "is_master_mch": "N", "logo_url": "", "master_mch_id": "",
		"mch_appid": appid, "mch_id": num, "mch_name": map[string]any{"en": "Sandbox Merchant " + num, "th": "ร้านทดสอบ " + num},
		"mch_notify_url": "", "mch_support_channel": support, "merchant_type": "company", "mobile": "0800000000",
		"nonce_str": f["nonce_str"],
		"operator_list": []map[string]any{{"add_time": "2024-01-01 00:00:00", "mch_id": num, "operator": "owner",
			"operator_id": "1", "rule_id": 0, "state": "1"}},
		"price_fee_type": "THB", "rigist_time": "2024-01-01 00:00:00", "settlement_fee_type": "THB",
		"time_zone": "+07:00", "wht": "N",
	}
}

// parseDay accepts YYYY-MM-DD and YYYYMMDD (the format of get_settlement_info
// dates is UNCONFIRMED).
func parseDay(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "20060102"} {
		if t, err := time.ParseInLocation(layout, s, bangkok); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Sandbox) v3SettlementInfo(appid string, f map[string]string) map[string]any {
	if m := missing(f, "begin_date", "end_date"); m != "" {
		return v3Fail(f, errParam, m+" is required")
	}
	from, ok1 := parseDay(f["begin_date"])
	to, ok2 := parseDay(f["end_date"])
	if !ok1 || !ok2 || to.Before(from) {
		return v3Fail(f, errParam, "begin_date and end_date must be dates (YYYY-MM-DD), begin first")
	}
	rows := []map[string]any{}
	for _, st := range s.settlements(appid, from, to) {
		if f["pay_channel"] != "" && st.Channel != f["pay_channel"] {
			continue
		}
		rows = append(rows, st.v3Row())
	}
	return map[string]any{"begin_date": f["begin_date"], "end_date": f["end_date"], "nonce_str": f["nonce_str"], "settlement_data": rows}
}

func (s *Sandbox) payoutBalance(appid string) int64 {
	bal := int64(payoutFloat)
	for _, o := range s.st.Orders {
		if o.API == apiV3 && o.Merchant == appid && o.Kind == "payout" {
			bal -= o.Amount + payoutMDR
		}
	}
	return bal
}

func (s *Sandbox) v3PayoutBalance(appid string, f map[string]string) map[string]any {
	if f["fee_type"] == "" {
		return v3Fail(f, errParam, "fee_type is required")
	}
	return map[string]any{"appid": appid, "balance": s.payoutBalance(appid), "nonce_str": f["nonce_str"], "result": "SUCCESS"}
}

// v3Payout pays out at once. The receiver fields are UNCONFIRMED (API.md
// A.3), so any are accepted and only receiver_name is echoed.
func (s *Sandbox) v3Payout(appid string, f map[string]string) map[string]any {
	o, fail := s.v3NewOrder(appid, "payout", f)
	if fail != nil {
		return fail
	}
	if o.Amount+payoutMDR > s.payoutBalance(appid) {
		return v3Fail(f, errBalance, "payout balance is not enough")
	}
	now := s.now()
	o.Channel, o.State, o.PaidAt = "payout", stPaid, now
	o.ChannelOrderNo = channelNo("payout", now, o.NumID)
	o.Note = f["receiver_name"]
	s.st.Orders = append(s.st.Orders, o)
	s.save()
	return map[string]any{"appid": appid, "channel_order_no": o.ChannelOrderNo, "ksher_order_no": o.KsherOrderNo,
		"mch_order_no": o.MchOrderNo, "mdr": payoutMDR, "nonce_str": f["nonce_str"], "receiver_name": o.Note,
		"result": "SUCCESS", "total_fee": o.Amount, "trade_type": "PAYOUT"}
}

func (s *Sandbox) v3PayoutQuery(appid string, f map[string]string) map[string]any {
	if f["mch_order_no"] == "" {
		return v3Fail(f, errParam, "mch_order_no is required")
	}
	o := s.findPayout(appid, f["mch_order_no"])
	if o == nil {
		return v3Fail(f, errInvalidOrderNo, "failed to find this order no ('mch_order_no:"+f["mch_order_no"]+"').")
	}
	d := s.v3OrderData(o, f["nonce_str"], "ORDER-QUERY-PAYOUT")
	d["mdr"] = payoutMDR
	return d
}
