package models

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ksherdash/ksherdash/gateway"
)

// GatewayError gives an error from a Ksher call its domain meaning, the one
// place that does (STYLE §12); web/errors.go then maps the code to a status:
//
//   - Ksher did not answer in time (KindTimeout): EGATEWAYTIMEOUT, "Ksher
//     did not answer".
//   - Ksher answered 5xx, something that is not its protocol (KindTransport),
//     or a signature that did not verify: EBADGATEWAY (logged by web).
//   - Ksher refused the call (KindAPI): EINVALID with Ksher's own code and
//     message, which the page shows as it is (Ksher words it, in English),
//     inside "error.gateway_declined" (Data "Reason").
//   - Ksher asks us to wait (KindRateLimited, or the client's own 10-second
//     guard): ETOOMANYREQUEST.
//   - The account's API cannot do this, or the request was refused before it
//     was sent: EINVALID.
//   - The account's stored configuration makes no client (ErrGatewayConfig):
//     EINVALID, naming the account page where an owner fixes it.
//
// A *Error passes through unchanged; any other error (the database) stays
// internal. The result wraps err, so errors.As still finds the
// *gateway.Error (GatewayErrorCode names it).
func GatewayError(err error) error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, ErrGatewayConfig) {
		return &Error{Code: EINVALID, MsgID: "error.gateway_config", Err: err,
			Message: "This merchant account's Ksher credentials cannot be used: an owner can fix them on the account's page."}
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return err
	}
	switch ge.Kind {
	case gateway.KindTimeout:
		return &Error{Code: EGATEWAYTIMEOUT, MsgID: "error.gateway_timeout", Message: "Ksher did not answer in time.", Err: err}
	case gateway.KindTransport, gateway.KindBadSignature:
		return &Error{Code: EBADGATEWAY, MsgID: "error.bad_gateway", Message: "Ksher's answer could not be used.", Err: err}
	case gateway.KindRateLimited:
		return &Error{Code: ETOOMANYREQUEST, MsgID: "error.gateway_rate_limited",
			Message: "Ksher asks to wait a few seconds before asking again.", Err: err}
	case gateway.KindAPI:
		if ge.HTTPStatus >= http.StatusInternalServerError {
			return &Error{Code: EBADGATEWAY, MsgID: "error.bad_gateway", Message: "Ksher's answer could not be used.", Err: err}
		}
		return &Error{Code: EINVALID, MsgID: "error.gateway_declined", Data: map[string]any{"Reason": declineReason(ge)},
			Message: declineMessage(ge), Err: err}
	}
	return &Error{Code: EINVALID, MsgID: "error.gateway_unsupported", Data: map[string]any{"Reason": ge.Message},
		Message: "Ksher cannot be asked this for this account: " + ge.Message, Err: err}
}

// declineReason is Ksher's code and message of a refusal, "CODE: message"
// (either alone when the other is empty; the HTTP status when both are).
func declineReason(ge *gateway.Error) string {
	switch {
	case ge.Code != "" && ge.Message != "":
		return ge.Code + ": " + ge.Message
	case ge.Code != "" || ge.Message != "":
		return ge.Code + ge.Message
	}
	return "HTTP " + strconv.Itoa(ge.HTTPStatus)
}

// declineMessage is what Ksher said when it refused: its code and its
// message (error texts of the gateway never hold secrets).
func declineMessage(ge *gateway.Error) string {
	parts := []string{"Ksher declined"}
	if ge.Code != "" {
		parts = append(parts, "("+ge.Code+")")
	}
	msg := strings.Join(parts, " ")
	if ge.Message != "" {
		msg += ": " + ge.Message
	}
	return msg
}
