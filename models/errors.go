// Package models holds the domain types of ksherdash and their storage in
// Postgres (through GORM). It knows nothing of HTTP or HTML.
package models

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Error codes of the application. web/errors.go maps each to an HTTP status.
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EFORBIDDEN      = "forbidden"
	ETOOMANYREQUEST = "too_many_requests"
	// EGATEWAYTIMEOUT: Ksher did not answer in time (504).
	EGATEWAYTIMEOUT = "gateway_timeout"
	// EBADGATEWAY: Ksher answered with a server error, an answer that could
	// not be read, or a signature that did not verify (502, logged).
	EBADGATEWAY = "bad_gateway"
	// EUNAVAILABLE: our database cannot be reached (503 with Retry-After;
	// see Unavailable in db_health.go, the one place that decides).
	EUNAVAILABLE = "unavailable"
)

// Error is an application error with a code and a message safe to show to
// the person who caused it.
type Error struct {
	Code    string
	Message string
	// MsgID, when set, names the message in the UI's catalogs, so pages
	// show it in the reader's language; Message is its English text.
	MsgID string
	// Data fills MsgID's placeholders (Ksher's own words of a decline).
	Data map[string]any
	// Err is the cause, when there is one (a *gateway.Error for the
	// gateway codes): errors.As still finds it.
	Err error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("models error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorID returns an *Error whose message is catalog message id (English
// text message).
func errorID(code, id, message string) *Error {
	return &Error{Code: code, Message: message, MsgID: id}
}

// ErrorMessageID returns the catalog message id of the first *Error in
// err's chain, or "".
func ErrorMessageID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.MsgID
	}
	if unstorable(err) {
		return "error.bad_input"
	} else if Unavailable(err) {
		return "error.unavailable"
	}
	return ""
}

// ErrorData returns the placeholders of the first *Error in err's chain,
// or nil.
func ErrorData(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Data
	}
	return nil
}

// MaxEmail is the longest email address (RFC 5321: 254 bytes).
const MaxEmail = 254

// unstorable reports whether err is Postgres refusing a value itself: bytes
// that are not text (22021), a value too long for its column (22001) or its
// index (54000). Input checks refuse such values first; this keeps one that
// slipped through a bad request (400), not an internal error.
func unstorable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22001" || pe.Code == "54000")
}

// ErrorCode returns the code of the first *Error in err's chain, EINVALID
// for a value Postgres cannot store, EUNAVAILABLE when the database cannot
// be reached, EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	} else if unstorable(err) {
		return EINVALID
	} else if Unavailable(err) {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or "Internal error." for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	} else if unstorable(err) {
		return "A value is too long, or holds a character that cannot be stored."
	} else if Unavailable(err) {
		return unavailableMessage
	}
	return "Internal error."
}
