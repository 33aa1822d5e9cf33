package gateway

import "strings"

// Status is the normalized state of a payment, order or refund, the same
// for both Ksher APIs. The raw Ksher value is kept next to it (RawStatus,
// RawCode) for storage.
type Status string

// Normalized statuses.
const (
	// StatusPending: created and payable, not paid yet (v3 NOTPAY, an unpaid
	// gateway_pay link; vip Available/PENDING).
	StatusPending Status = "pending"
	// StatusNotSure: a payment is in flight and its outcome is not known yet
	// (v3 NOTSURE, USERPAYING, PENDING on a counter charge: the payer is
	// entering a PIN). Poll Orders.Get (at most every 10 s) and reverse it
	// with Counter.Reverse if it never resolves.
	StatusNotSure Status = "not_sure"
	// StatusPaid: paid (v3 SUCCESS; vip Paid or error_code SUCCESS on a query).
	StatusPaid Status = "paid"
	// StatusFailed: the payment failed in the channel (v3 PAYERROR; vip
	// error_code FAIL) or a refund failed.
	StatusFailed Status = "failed"
	// StatusClosed: closed, cancelled or expired; can no longer be paid.
	StatusClosed Status = "closed"
	// StatusRefunded: refunded. Neither Ksher API says on an order query
	// whether the refund was full or partial, so an order query reports
	// StatusRefunded for both; StatusPartiallyRefunded is reported only
	// where amounts show it (v3 refund_query).
	StatusRefunded Status = "refunded"
	// StatusPartiallyRefunded: refunds add up to less than the order amount.
	StatusPartiallyRefunded Status = "partially_refunded"
	// StatusReversed: a counter charge was reversed (v3 order_reverse).
	StatusReversed Status = "reversed"
	// StatusUnknown: a Ksher value this client does not know; see RawStatus.
	StatusUnknown Status = "unknown"
)

// Final is the one rule for final order states, used by the client and
// by ksherdash's order cache (models.IsFinal): it reports whether the state
// can now change only through a new action of the merchant, a refund, and
// never by itself (the payer paying, the channel failing, the order
// expiring). A final state is kept as it is; an open one is worth asking
// Ksher about again.
//
// Paid, refunded and partially refunded are final although more refunds
// may follow: those are the merchant's own actions, known when made.
// Partially refunded is final for the same reason as paid, and asking
// Ksher again could not tell it apart anyway: an order query answers
// "refunded" for partial and full refunds alike (see StatusRefunded).
// Failed, closed and reversed end the order. Pending, not sure and unknown
// are open.
func (s Status) Final() bool {
	switch s {
	case StatusPaid, StatusFailed, StatusClosed, StatusRefunded, StatusPartiallyRefunded, StatusReversed:
		return true
	}
	return false
}

// v3OrderStatus maps data.result of order_query-like answers (API.md A.5).
func v3OrderStatus(result string) Status {
	switch strings.ToUpper(result) {
	case "SUCCESS":
		return StatusPaid
	case "NOTPAY":
		return StatusPending
	case "NOTSURE", "USERPAYING", "PENDING":
		return StatusNotSure
	case "PAYERROR":
		return StatusFailed
	case "CLOSED", "REVOKED":
		return StatusClosed
	case "REFUND":
		return StatusRefunded
	case "REVERSED":
		return StatusReversed
	}
	return StatusUnknown
}

// v3LinkStatus maps data.result of gateway_order_query. An unpaid hosted
// checkout answers NOTSURE (API.md A.4), which is "pending" for a link.
func v3LinkStatus(result string) Status {
	switch strings.ToUpper(result) {
	case "NOTSURE", "NOTPAY", "USERPAYING", "PENDING":
		return StatusPending
	}
	return v3OrderStatus(result)
}

// v3RefundStatus maps refund_orders[].refund_state. Only REFUNDSUCCESS is
// confirmed; the others are the WeChat-style values Ksher's docs imply
// (UNCONFIRMED).
func v3RefundStatus(state string) Status {
	switch strings.ToUpper(state) {
	case "REFUNDSUCCESS", "SUCCESS":
		return StatusRefunded
	case "PROCESSING", "REFUNDING", "NOTSURE":
		return StatusPending
	case "REFUNDFAIL", "FAIL", "CHANGE", "REFUNDCLOSE":
		return StatusFailed
	}
	return StatusUnknown
}

// vipStatus maps a vip order object's status and error_code (API.md B.6).
func vipStatus(status, code string) Status {
	switch strings.ToUpper(code) {
	case "FAIL":
		return StatusFailed
	}
	switch strings.ToLower(status) {
	case "available":
		return StatusPending
	case "paid":
		return StatusPaid
	case "closed", "timeout", "cancelled", "canceled":
		return StatusClosed
	case "refunded":
		return StatusRefunded
	}
	switch strings.ToUpper(code) {
	case "PENDING":
		return StatusPending
	case "SUCCESS":
		return StatusPaid
	case "REFUNDED":
		return StatusRefunded
	case "CLOSED", "TIMEOUT":
		return StatusClosed
	}
	return StatusUnknown
}
