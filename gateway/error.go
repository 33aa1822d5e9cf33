package gateway

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// ErrorKind classifies a gateway error.
type ErrorKind string

// Error kinds. Callers branch on Kind (errors.As) rather than on messages.
const (
	// KindTransport: the request did not produce a usable HTTP answer
	// (connection refused or reset, non-JSON body, unexpected HTTP status).
	KindTransport ErrorKind = "transport"
	// KindAPI: Ksher answered and refused the call (v3 code != 0 or
	// data.result FAIL, vip error_code FAIL/UNKNOWN or HTTP 4xx). Code holds
	// Ksher's err_code / error_code.
	KindAPI ErrorKind = "api"
	// KindBadSignature: a response or notification signature did not verify
	// (or was missing, or answered another request). Nothing in it was used.
	KindBadSignature ErrorKind = "bad_signature"
	// KindRateLimited: Ksher refused because of request rate
	// (KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS, HTTP 429), or the client's own
	// 10-second guard refused to query the same order again; RetryAfter says
	// how long to wait.
	KindRateLimited ErrorKind = "rate_limited"
	// KindTimeout: the call's context ended (deadline or cancellation) or the
	// HTTP client timeout passed before Ksher answered. The outcome of a write is unknown: query
	// it, do not blindly create again.
	KindTimeout ErrorKind = "timeout"
	// KindUnsupported: the account's API cannot do this (for example
	// transactions lists on v3, reversals on vip).
	KindUnsupported ErrorKind = "unsupported"
	// KindInvalidRequest: the params were rejected locally before anything
	// was sent (missing required field, unknown mid).
	KindInvalidRequest ErrorKind = "invalid_request"
)

// ErrBadSignature is ksign.ErrBadSignature; every KindBadSignature error
// wraps it, so errors.Is(err, gateway.ErrBadSignature) works.
var ErrBadSignature = ksign.ErrBadSignature

// ErrUnsupported is wrapped by every KindUnsupported error.
var ErrUnsupported = errors.New("gateway: operation not supported by this Ksher API")

// Error is the single error type returned by the client. Its text never
// contains keys, tokens or signatures.
type Error struct {
	// Kind classifies the failure.
	Kind ErrorKind
	// Op is the capability that failed, e.g. "refunds.create", plus the
	// Ksher operation, e.g. "refunds.create order_refund".
	Op string
	// Code is Ksher's err_code (v3) or error_code (vip), or HTTP_<status>.
	Code string
	// Message is Ksher's err_msg / error_message / description (HTML
	// stripped), or a client-side explanation.
	Message string
	// HTTPStatus is the HTTP status of the answer, 0 if there was none.
	HTTPStatus int
	// RetryAfter is set for KindRateLimited: the wait before the same query
	// may be sent again.
	RetryAfter time.Duration
	// Err is the underlying cause, if any.
	Err error
	// SendAgain is set when Ksher answered that the call failed and is to be
	// sent again with the same parameters: a v3 envelope code other than 0
	// ("not 0: the call failed, retry with the same parameters", source
	// 001). Nothing was done, so a refund may be re-sent with the same
	// number. Every other failure of a write leaves its outcome to a query.
	SendAgain bool
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gateway: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Kind))
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter.Round(time.Millisecond))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is (or wraps) a *Error of kind k.
func IsKind(err error, k ErrorKind) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Kind == k
}

func unsupported(op, why string) *Error {
	return &Error{Kind: KindUnsupported, Op: op, Message: why, Err: ErrUnsupported}
}

func invalid(op, format string, args ...any) *Error {
	return &Error{Kind: KindInvalidRequest, Op: op, Message: fmt.Sprintf(format, args...)}
}

func badSignature(op, why string) *Error {
	return &Error{Kind: KindBadSignature, Op: op, Message: why, Err: ksign.ErrBadSignature}
}
