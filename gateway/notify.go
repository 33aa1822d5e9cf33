package gateway

import (
	"bytes"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// V3NotificationAck is the body Ksher expects (HTTP 200) after a v3
// notification was processed; anything else makes Ksher retry (API.md A.6).
var V3NotificationAck = []byte(`{"result":"SUCCESS","msg":"OK"}`)

// NotificationService verifies and parses Ksher's notifications.
type NotificationService struct{ c *Client }

// ParseV3 verifies and parses a v3 payment notification: the raw POST
// body, a JSON response envelope whose sign covers data (verified with the
// Ksher public key). Some senders URL-encode the body; that form is
// accepted too. The notification must be for one of the client's appids:
// Ksher signs every merchant's notifications with the same key, so one
// about another merchant is rejected like a bad signature. Failures are
// *Error with KindBadSignature wrapping ErrBadSignature (or
// KindUnsupported on a vip client).
func (s *NotificationService) ParseV3(body []byte) (*Notification, error) {
	const op = "notifications.parse_v3"
	d := s.c.v3
	if d == nil {
		return nil, unsupported(op, "this client is not a v3 account")
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] != '{' {
		if u, err := url.QueryUnescape(string(body)); err == nil {
			body = []byte(strings.TrimSpace(u))
		}
	}
	m, err := ksign.DecodeObject(body)
	if err != nil {
		return nil, badSignature(op, "body is not a JSON object")
	}
	data, sign := object(m, "data"), str(m, "sign")
	if data == nil || sign == "" {
		return nil, badSignature(op, "notification has no signed data")
	}
	if err := ksign.V3Verify(d.pub, data, sign); err != nil {
		return nil, badSignature(op, "notification signature does not verify with Ksher's public key")
	}
	appid := str(data, "appid")
	mid := ""
	for m, cr := range d.creds {
		if cr.AppID == appid {
			mid = m
		}
	}
	if mid == "" {
		return nil, badSignature(op, "notification is about another merchant's appid")
	}
	n := &Notification{
		Meta: Meta{API: APIV3, RawStatus: str(data, "result"), RawCode: str(data, "err_code"), Raw: body, FetchedAt: s.c.opt.now()},
		Mid:  mid, Type: "payment", MerchantOrderID: str(data, "mch_order_no"), KsherOrderID: str(data, "ksher_order_no"),
		PayOrderID: str(data, "pay_mch_order_no"), ChannelOrderID: str(data, "channel_order_no"), Channel: str(data, "channel"),
		Amount: integer(data, "total_fee"), Currency: str(data, "fee_type"), PaidAt: ictTime(data, "time_end"),
		Status: v3OrderStatus(str(data, "result")), Signature: strings.ToLower(sign),
	}
	if _, ok := data["pay_mch_order_no"]; ok {
		n.Type = "payment_link"
	}
	if !allText(n.MerchantOrderID, n.KsherOrderID, n.PayOrderID, n.ChannelOrderID, n.Channel, n.Currency, n.RawStatus, n.RawCode) {
		return nil, invalid(op, "notification holds a value that is not text")
	}
	return n, nil
}

// allText reports whether every value is valid UTF-8 without NUL. A
// signature proves who sent a notification, not that its values fit a
// text column (Postgres refuses NUL, SQLSTATE 22021): one that does not is
// refused, so that recording it cannot fail.
func allText(values ...string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return false
		}
	}
	return true
}

// ParseVIP verifies and parses a vip webhook, a GET
// <webhook_url>?type=Order&instance=<merchant_order_id>&code=StatusChange&message=…&signature=…
// fullURL is the webhook URL as configured in Ksher's back office
// (scheme://host/path, as Ksher calls it, not as a proxy rewrote it); any
// query or fragment in it is ignored, and query holds the received
// parameters. The HMAC covers the URL without query plus every received
// parameter except signature (whether a query configured in the webhook URL
// belongs to the prefix is UNCONFIRMED: here it is treated as parameters).
// The webhook carries no amount: query the order before acting on it.
func (s *NotificationService) ParseVIP(fullURL string, query url.Values) (*Notification, error) {
	const op = "notifications.parse_vip"
	d := s.c.vip
	if d == nil {
		return nil, unsupported(op, "this client is not a vip account")
	}
	u, err := url.Parse(fullURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, invalid(op, "fullURL must be an absolute URL")
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	prefix := u.String()
	sig := query.Get("signature")
	if sig == "" {
		return nil, badSignature(op, "webhook has no signature")
	}
	fields := map[string]any{}
	for k, vs := range query {
		if k == "signature" {
			continue
		}
		if len(vs) != 1 {
			return nil, badSignature(op, "webhook repeats parameter "+k)
		}
		fields[k] = vs[0]
	}
	if err := ksign.VIPVerify(d.token, prefix, fields, sig); err != nil {
		return nil, badSignature(op, "webhook signature does not verify with the account token")
	}
	msg := query.Get("message")
	if !allText(query.Get("type"), query.Get("code"), query.Get("instance"), msg) {
		return nil, invalid(op, "webhook holds a value that is not text")
	}
	return &Notification{
		Meta: Meta{API: APIVIP, RawStatus: msg, RawCode: query.Get("code"), Raw: []byte(query.Encode()), FetchedAt: s.c.opt.now()},
		Type: query.Get("type"), Code: query.Get("code"), MerchantOrderID: query.Get("instance"), Message: msg,
		Status: vipWebhookStatus(msg), Signature: strings.ToUpper(sig),
	}, nil
}

// vipWebhookStatus maps the webhook message (API.md B.5).
func vipWebhookStatus(msg string) Status {
	switch strings.ToLower(strings.TrimSpace(msg)) {
	case "order paid":
		return StatusPaid
	case "order refunded":
		return StatusRefunded
	case "order closed", "order timeout":
		return StatusClosed
	}
	return StatusUnknown
}
