package gateway

import (
	"encoding/json"
	"time"
)

// String returns a pointer to s, for optional params fields.
func String(s string) *string { return &s }

// Int returns a pointer to n, for optional params fields.
func Int(n int) *int { return &n }

// Int64 returns a pointer to n, for optional params fields.
func Int64(n int64) *int64 { return &n }

// Meta describes where a result came from; it is embedded in every result
// so callers can store Ksher's own answer next to the normalized one.
type Meta struct {
	// API is the Ksher API that answered.
	API APIKind
	// RawStatus is Ksher's status text: v3 data.result (or refund_state),
	// vip status.
	RawStatus string
	// RawCode is Ksher's code next to the status: v3 err_code, vip
	// error_code.
	RawCode string
	// Raw is the response body exactly as received, after its signature was
	// verified (for list items: the item's JSON). It holds no secrets: Ksher
	// responses carry no keys or tokens, only Ksher's own signature.
	Raw json.RawMessage
	// FetchedAt is when the answer was received (client clock).
	FetchedAt time.Time
	// Cached is true when the answer is the last known one, returned
	// without calling Ksher because of the 10-second query rule.
	Cached bool
}

func (m *Meta) meta() *Meta { return m }

// OrderType selects the vip order family (the <kind> in
// /api/v1/<kind>/orders). It is ignored on v3 accounts, whose order ids
// are global. The zero value means OrderTypeRedirect.
type OrderType string

// vip order families.
const (
	OrderTypeRedirect OrderType = "redirect"
	OrderTypeMiniApp  OrderType = "miniapp"
	OrderTypeApp      OrderType = "app"
	OrderTypeBScanC   OrderType = "bscanc"
	OrderTypeCScanB   OrderType = "cscanb"
)

func (t OrderType) orDefault() OrderType {
	if t == "" {
		return OrderTypeRedirect
	}
	return t
}

func (t OrderType) valid() bool {
	switch t.orDefault() {
	case OrderTypeRedirect, OrderTypeMiniApp, OrderTypeApp, OrderTypeBScanC, OrderTypeCScanB:
		return true
	}
	return false
}

// ---------------------------------------------------------------- payment links

// PaymentLinkCreateParams creates a hosted checkout page (v3 gateway_pay,
// vip POST /api/v1/redirect/orders).
type PaymentLinkCreateParams struct {
	// Mid selects the merchant (v3 credentials / vip mid). May be empty
	// when the client has exactly one.
	Mid string
	// MerchantOrderID is your unique order id (≤ 32 chars): v3
	// mch_order_no, vip merchant_order_id.
	MerchantOrderID string
	// Amount in minor units (satang): 15050 = 150.50 THB.
	Amount int64
	// Currency, ISO 4217; default "THB". vip orders are THB only and do
	// not send it.
	Currency string
	// Channels offered on the page, e.g. promptpay, truemoney, card.
	// Required on v3 (channel_list); optional on vip (channel).
	Channels []string
	// RedirectURL is where the payer goes after paying.
	RedirectURL string
	// FailRedirectURL is where the payer goes when payment fails.
	FailRedirectURL string
	// ProductName is shown to the payer; v3 requires it (default:
	// MerchantOrderID). Plain English, avoid +&/$%.
	ProductName *string
	// ReferURL is v3 refer_url (required; default: RedirectURL).
	ReferURL *string
	// NotifyURL is the v3 payment notification URL (mch_notify_url). vip
	// webhooks are configured in Ksher's back office instead.
	NotifyURL *string
	// Note is the vip note (echoed back).
	Note *string
	// Lang of the page (en, th, cn) — v3 only.
	Lang *string
	// Device is PC or H5 — v3 only.
	Device *string
	// ExpireMinutes closes the page after this many minutes — v3 only.
	ExpireMinutes *int
	// ShopName and LogoURL brand the page — v3 only.
	ShopName, LogoURL *string
	// Attach is opaque merchant data echoed back — v3 only.
	Attach *string
}

// PaymentLinkGetParams queries a hosted checkout (v3
// gateway_order_query, vip GET /api/v1/redirect/orders/{id}).
type PaymentLinkGetParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID of the link.
	MerchantOrderID string
}

// PaymentLinkCancelParams closes an unpaid hosted checkout (v3
// cancel_order; vip DELETE, UNCONFIRMED that Ksher implements it).
type PaymentLinkCancelParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID of the link.
	MerchantOrderID string
	// Lang is v3's required lang field; default "en".
	Lang *string
}

// PaymentLink is a hosted checkout page and its payment state.
type PaymentLink struct {
	Meta
	// Mid is the merchant the link belongs to.
	Mid string
	// MerchantOrderID is your order id.
	MerchantOrderID string
	// URL is the page to send the payer to (v3 pay_content, vip reference).
	URL string
	// Amount in minor units, and its currency.
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// Channel the payer chose, once paid.
	Channel string
	// KsherOrderID is Ksher's order number (v3 ksher_order_no, vip
	// acquirer_order_id), once paid.
	KsherOrderID string
	// PayOrderID is, on v3, the KsherPay order actually paid
	// (pay_mch_order_no). Refund that one (or KsherOrderID), not the
	// link's MerchantOrderID (API.md A.7).
	PayOrderID string
	// GatewayOrderID is the vip gateway's id (e.g. "dev358").
	GatewayOrderID string
	// ChannelOrderID is the wallet's id, once paid.
	ChannelOrderID string
	// PaidAt is when it was paid (v3 time_end), zero if unpaid or not said
	// (vip). UTC, like every time here (see Times in times.go).
	PaidAt time.Time
	// Status is the normalized state.
	Status Status
}

// ---------------------------------------------------------------- orders

// OrderGetParams queries one order by exactly one of its ids (v3
// order_query; vip GET /api/v1/<type>/orders/{merchant_order_id}, which
// only knows MerchantOrderID).
type OrderGetParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID, KsherOrderID, ChannelOrderID: set exactly one.
	MerchantOrderID *string
	KsherOrderID    *string // Ksher's order number
	ChannelOrderID  *string // the wallet's order number
	// Type is the vip order family (default redirect).
	Type OrderType
}

// Order is one payment order.
type Order struct {
	Meta
	// Mid is the merchant.
	Mid string
	// MerchantOrderID, KsherOrderID, ChannelOrderID and (vip)
	// GatewayOrderID identify the order.
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	ChannelOrderID  string // the wallet's order number
	GatewayOrderID  string // the vip gateway's id
	// Channel used to pay.
	Channel string
	// Amount in minor units, and its currency.
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// PaidAmount/PaidCurrency is what the payer was charged in the wallet
	// currency (v3 cash_fee/cash_fee_type), Rate the FX rate text.
	PaidAmount   int64
	PaidCurrency string // currency of PaidAmount
	Rate         string // FX rate text
	// PaidAt is when it was paid (v3 time_end); zero when not paid or not
	// said (vip answers carry no payment time).
	PaidAt time.Time
	// CreatedAt is when Ksher created it (vip order_date; on a refund
	// record, the refund's time); zero on v3, whose answers do not say.
	CreatedAt time.Time
	// Kind tells a vip order (OrderKindSale) from a vip refund record
	// (OrderKindRefund), which the vip query API also answers with; "" on
	// v3.
	Kind OrderKind
	// Type is the vip order family the answer names (api_name: Redirect,
	// CscanB, ...); "" when it does not name one (v3, refund records).
	Type OrderType
	// RefundOf is, on a vip refund record, the merchant_order_id of the
	// refunded order (the record's reference); "" otherwise.
	RefundOf string
	// Status is the normalized state.
	Status Status
}

// OrderKind tells a vip order object that is a sale from one that is a
// refund record (order_type).
type OrderKind string

// vip order_type values.
const (
	OrderKindSale   OrderKind = "Sale"
	OrderKindRefund OrderKind = "Refund"
)

// ---------------------------------------------------------------- refunds

// RefundCreateParams refunds all or part of an order (v3 order_refund, vip
// PUT /api/v1/<type>/orders/{merchant_order_id}).
//
// RefundID is the idempotency key: mint it once, store it with your refund
// row and pass the same value on every attempt; the client re-sends the
// identical request on transient failures and never invents a new one.
// After a timeout, call Refunds.Get with it rather than create again.
type RefundCreateParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID or KsherOrderID of the paid order (v3: one of them;
	// vip: MerchantOrderID, the path id). For v3 payment links refund the
	// link's PayOrderID (as MerchantOrderID) or its KsherOrderID.
	MerchantOrderID *string
	KsherOrderID    *string // Ksher's order number
	// RefundID is your unique refund number (v3 mch_refund_no, vip
	// refund_order_id).
	RefundID string
	// Amount to refund in minor units; equal to OrderAmount for a full
	// refund.
	Amount int64
	// OrderAmount is the order's total in minor units (v3 total_fee,
	// required there; not sent on vip).
	OrderAmount int64
	// Currency, default "THB" (v3 fee_type).
	Currency string
	// Channel of the order (v3, optional; sent as channel). When set, its
	// RefundRule is checked before sending.
	Channel *string
	// OperatorID and Attach are optional v3 fields.
	OperatorID, Attach *string
	// Type is the vip order family (default redirect).
	Type OrderType
}

// RefundGetParams queries a refund by its RefundID (v3 refund_query; vip
// GET of the refund record /api/v1/<type>/orders/{refund_order_id}).
type RefundGetParams struct {
	// Mid selects the merchant.
	Mid string
	// RefundID as given to Refunds.Create.
	RefundID string
	// MerchantOrderID or KsherOrderID of the refunded order (v3 requires
	// one; on vip it is used when the refund record itself cannot be found).
	MerchantOrderID *string
	KsherOrderID    *string // Ksher's order number
	// Channel the order was paid with (v3, optional): on a channel without
	// refund_query (RefundRule) the order is asked about instead.
	Channel *string
	// Type is the vip order family (default redirect).
	Type OrderType
}

// Refund is one refund of an order.
type Refund struct {
	Meta
	// Mid is the merchant.
	Mid string
	// RefundID is your refund number; KsherRefundID and ChannelRefundID are
	// Ksher's and the wallet's.
	RefundID        string
	KsherRefundID   string // Ksher's refund number
	ChannelRefundID string // the wallet's refund number
	// MerchantOrderID and KsherOrderID of the refunded order.
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	// Amount refunded by this refund (positive, minor units).
	Amount int64
	// OrderAmount is the order total and RefundedTotal the sum of all its
	// refunds, when Ksher reports them (v3 refund_query), else 0.
	OrderAmount   int64
	RefundedTotal int64 // sum of the order's refunds
	// Currency of the amounts.
	Currency string
	// RefundedAt is when Ksher made the refund (v3 refund_time, vip
	// order_date of the refund record); zero when not said.
	RefundedAt time.Time
	// Status of this refund: StatusRefunded, StatusPending, StatusFailed or
	// StatusUnknown.
	Status Status
	// OrderStatus is the order's state after its refunds:
	// StatusPartiallyRefunded when RefundedTotal < OrderAmount, else
	// StatusRefunded (or "" when unknown).
	OrderStatus Status
}

// ---------------------------------------------------------------- settlements

// SettlementListParams lists settlements in a date range.
type SettlementListParams struct {
	// Mid selects the merchant (vip: required, or the single configured one).
	Mid string
	// From and To are the first and last day, inclusive (the date in the
	// values' own location counts).
	From, To time.Time
	// Channels to include. v3: at most one (pay_channel), empty = all. vip:
	// one request per channel per day; empty = the mid's channels from
	// Channels.List.
	Channels []string
}

// Settlement is one settlement (v3 settlement_data row, vip settlement
// summary of one channel and day).
type Settlement struct {
	Meta
	// Mid is the merchant.
	Mid string
	// Channel settled.
	Channel string
	// ReferenceID identifies a vip settlement (for Settlements.Orders);
	// empty when the day has no settlement on the channel.
	ReferenceID string
	// PeriodStart and PeriodEnd are the first and last day of the sales
	// covered (dates: 00:00 UTC of the day, see Times); zero when not said.
	PeriodStart, PeriodEnd time.Time
	// SettlementDate is the settlement's day (v3 settlement_date, vip the
	// date of time) and TransferDate the day the money was sent (v3); dates
	// like PeriodStart, zero when not said (a carried-over day has no
	// TransferDate).
	SettlementDate, TransferDate time.Time
	// Currency of the amounts (vip).
	Currency string
	// Count of transactions (vip).
	Count int64
	// Amounts in minor units (UNCONFIRMED for vip reports, see
	// reportAmount): Amount is v3 settlement_amount / vip amount.
	Amount, Fee, VAT, Refund, RefundFee, OtherFee, Adjustment, Net, TransferAmount, Balance int64
	// Transferred is vip's transfer flag.
	Transferred bool
}

// SettlementOrdersParams lists the transactions inside one settlement.
type SettlementOrdersParams struct {
	// Mid selects the merchant.
	Mid string
	// ReferenceID from Settlement.ReferenceID (vip).
	ReferenceID string
	// PageSize per request; default 40, at most 49.
	PageSize int
}

// ---------------------------------------------------------------- transactions

// TransactionListParams lists one day's transactions.
type TransactionListParams struct {
	// Mid selects the merchant (required on vip, or the single configured one).
	Mid string
	// Date is the day (its date in its own location).
	Date time.Time
	// Channel restricts to one channel; nil = all.
	Channel *string
	// PageSize per request; default 40, at most 49 (Ksher: limit < 50).
	PageSize int
	// Offset is the first row to fetch (default 0): a caller that stored
	// how far it got resumes there instead of fetching earlier pages again.
	Offset int
}

// Transaction is one row of a transaction or settlement report.
type Transaction struct {
	Meta
	// Mid is the merchant.
	Mid string
	// MerchantOrderID (order_id) and KsherOrderID (ksher_order_id).
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	// Amount in minor units (UNCONFIRMED for vip reports), and currency.
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// Channel paid with.
	Channel string
	// Type is the kind of line: TransactionPayment, TransactionRefund, or
	// another value as sent, in upper case.
	Type TransactionType
	// Time of the transaction (transaction_time), zero when not said.
	Time time.Time
	// DeviceID, OperatorID and OperatorName as sent.
	DeviceID, OperatorID, OperatorName string
	// Total is how many rows the whole report holds, as Ksher said on the
	// page this row came in (0 when Ksher did not say).
	Total int64
}

// TransactionType is the kind of a report line (vip type).
type TransactionType string

// Report line kinds. Only PAY is seen in Ksher's samples; refund lines are
// presumably REFUND, with a negative amount (API.md B.4.4, UNCONFIRMED).
const (
	TransactionPayment TransactionType = "PAY"
	TransactionRefund  TransactionType = "REFUND"
)

// ---------------------------------------------------------------- channels

// ChannelListParams lists a mid's payment channels.
type ChannelListParams struct {
	// Mid selects the merchant.
	Mid string
}

// ChannelList is the set of channels a mid may use.
type ChannelList struct {
	Meta
	// Mid is the merchant.
	Mid string
	// Channels available.
	Channels []Channel
}

// Channel is one payment channel of a merchant.
type Channel struct {
	// Name as Ksher spells it (promptpay, truemoney, wechat, ...).
	Name string
	// SettlementCycle is v3 settlement_time_type ("T+1".."T+5"), "" on vip.
	SettlementCycle string
	// SingleOrderLimit and DaySumLimit in minor units; -1 = no limit; 0 =
	// not reported (vip).
	SingleOrderLimit, DaySumLimit int64
}

// ---------------------------------------------------------------- counter

// QRParams creates a dynamic QR for the payer to scan (C-scan-B: v3
// native_pay, vip POST /api/v1/cscanb/orders). Never retried.
type QRParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID is your unique order id.
	MerchantOrderID string
	// Amount in minor units and Currency (default THB).
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// Channel, one of promptpay, alipay, wechat, truemoney ...
	Channel string
	// NotifyURL, RedirectURL, Product, Attach, OperatorID, DeviceID are
	// optional v3 fields; Note is the optional vip note.
	NotifyURL, RedirectURL, Product, Attach, OperatorID, DeviceID, Note *string
}

// QRCode is a created C-scan-B order.
type QRCode struct {
	Meta
	// Mid is the merchant.
	Mid string
	// MerchantOrderID, KsherOrderID and (vip) GatewayOrderID.
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	GatewayOrderID  string // the vip gateway's id
	// Payload is the EMVCo/PromptPay text to render as a QR (v3 code_url),
	// empty on vip.
	Payload string
	// ImageDataURL is a ready "data:image/png;base64,..." image (v3 imgdat,
	// vip reserved1).
	ImageDataURL string
	// Amount, Currency and Channel of the order.
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	Channel  string // payment channel
	// Status is normally StatusPending.
	Status Status
}

// ChargeParams charges a code shown by the payer's wallet (B-scan-C: v3
// quick_pay, vip POST /api/v1/bscanc/orders). Never retried: on a timeout,
// query the order and reverse it if needed.
type ChargeParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID is your unique order id.
	MerchantOrderID string
	// Amount in minor units and Currency (default THB).
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// Channel (wechat, alipay, alipayplus, truemoney, airpay, linepay).
	Channel string
	// AuthCode is the code scanned from the payer.
	AuthCode string
	// OperatorID, DeviceID are optional; Attach, Product, NotifyURL are
	// optional v3 fields; Note is the optional vip note.
	OperatorID, DeviceID, Attach, Product, NotifyURL, Note *string
}

// Charge is the result of a B-scan-C charge. Status StatusNotSure means
// the payer is still confirming (Ksher NOTSURE): poll Orders.Get and call
// Counter.Reverse if it does not resolve.
type Charge struct {
	Meta
	// Mid is the merchant.
	Mid string
	// MerchantOrderID, KsherOrderID, ChannelOrderID, GatewayOrderID.
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	ChannelOrderID  string // the wallet's order number
	GatewayOrderID  string // the vip gateway's id
	// Amount, Currency, Channel of the order; PaidAmount/PaidCurrency in
	// the wallet's currency (v3).
	Amount       int64
	Currency     string // ISO 4217 currency of the amount
	Channel      string // payment channel
	PaidAmount   int64  // amount in the wallet's currency
	PaidCurrency string // currency of PaidAmount
	// PaidAt is when it was paid (v3 time_end; vip order_date, the charge
	// being synchronous); zero when not said.
	PaidAt time.Time
	// Status: StatusPaid, StatusNotSure or StatusUnknown (declines are
	// KindAPI errors).
	Status Status
}

// ReverseParams reverses (cancels or refunds automatically) an in-flight
// counter charge (v3 order_reverse; not available on vip). Not retried.
type ReverseParams struct {
	// Mid selects the merchant.
	Mid string
	// MerchantOrderID, KsherOrderID, ChannelOrderID: set one.
	MerchantOrderID *string
	KsherOrderID    *string // Ksher's order number
	ChannelOrderID  *string // the wallet's order number
	// Channel of the order (some integrations require it).
	Channel *string
	// OperatorID is optional.
	OperatorID *string
}

// Reversal is the result of Counter.Reverse.
type Reversal struct {
	Meta
	// Mid is the merchant.
	Mid string
	// MerchantOrderID and KsherOrderID of the reversed order.
	MerchantOrderID string
	KsherOrderID    string // Ksher's order number
	// Status is StatusReversed on success.
	Status Status
}

// ---------------------------------------------------------------- merchant

// MerchantInfoParams reads a merchant's profile (v3 merchant_info).
type MerchantInfoParams struct {
	// Mid selects the merchant.
	Mid string
}

// MerchantInfo is a v3 merchant profile.
//
// Ksher signs only mobile, mch_id, account_type, business_mode and
// nonce_str of this answer (API.md C.1.4); the other fields (name,
// channels, refund policy) are not covered by Ksher's signature and are
// marked as such by SignedFields.
type MerchantInfo struct {
	Meta
	// Mid is the merchant.
	Mid string
	// AppID (mch_appid) and MerchantID (mch_id).
	AppID      string
	MerchantID string // mch_id
	// Name and BriefName from mch_name (unsigned).
	Name, BriefName string
	// AccountType is "Formal" or "Test"; Test reports whether it is a test
	// account.
	AccountType string
	Test        bool // AccountType is Test
	// BusinessMode is "online" or "offline".
	BusinessMode string
	// Mobile of the merchant.
	Mobile string
	// AllowPartialRefund is allow_partial_refund == "Y" (unsigned).
	AllowPartialRefund bool
	// TimeZone and SettlementCurrency as sent (unsigned).
	TimeZone, SettlementCurrency string
	// Channels from mch_support_channel (unsigned).
	Channels []Channel
	// SignedFields lists the fields covered by Ksher's signature.
	SignedFields []string
}

// ---------------------------------------------------------------- notifications

// Notification is a verified payment notification.
type Notification struct {
	Meta
	// Mid is the merchant it concerns (v3: from appid; vip: empty, the
	// webhook does not say).
	Mid string
	// Type: v3 "payment" (a KsherPay order) or "payment_link" (a
	// gateway_pay order); vip: the webhook's type ("Order").
	Type string
	// Code is the vip webhook code ("StatusChange"); empty on v3.
	Code string
	// MerchantOrderID the notification is about (vip: instance).
	MerchantOrderID string
	// KsherOrderID, PayOrderID, ChannelOrderID, Channel (v3).
	KsherOrderID   string
	PayOrderID     string // v3 pay_mch_order_no of a payment link
	ChannelOrderID string // the wallet's order number
	Channel        string // payment channel
	// Amount and Currency (v3 total_fee, fee_type).
	Amount   int64
	Currency string // ISO 4217 currency of the amount
	// PaidAt is when it was paid (v3 time_end); zero on vip.
	PaidAt time.Time
	// Message is the vip message ("Order Paid", ...).
	Message string
	// Signature is the verified signature Ksher sent (v3 sign, vip
	// signature) in its API's case (v3 lower-case hex, vip upper-case), so
	// that one notification delivered twice has the same Signature: a key
	// to recognise replays. It is no secret, but like every signature it is
	// never logged.
	Signature string
	// Status is the normalized state. vip webhooks carry no amounts: query
	// the order before acting on it.
	Status Status
}
