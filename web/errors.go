package web

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
)

// codes is the one map from application error codes to HTTP statuses.
var codes = map[string]int{
	models.ECONFLICT:       fiber.StatusConflict,
	models.EINVALID:        fiber.StatusBadRequest,
	models.ENOTFOUND:       fiber.StatusNotFound,
	models.EUNAUTHORIZED:   fiber.StatusUnauthorized,
	models.EFORBIDDEN:      fiber.StatusForbidden,
	models.ETOOMANYREQUEST: fiber.StatusTooManyRequests,
	models.EGATEWAYTIMEOUT: fiber.StatusGatewayTimeout,
	models.EBADGATEWAY:     fiber.StatusBadGateway,
	models.EINTERNAL:       fiber.StatusInternalServerError,
	models.EUNAVAILABLE:    fiber.StatusServiceUnavailable,
}

// retryAfter is the Retry-After (seconds) of a 503 for an unreachable
// database: about the time the embedded Postgres needs to come back, and
// what Ksher's webhook retries wait anyway (5 s).
const retryAfter = "5"

// errorHandler renders every error: an error page, or a partial for htmx
// (swapped into #flash by the layout's htmx config). Errors of 500 and more
// are logged once (internal ones, and Ksher's failures: 502, 504); people
// see only their catalog message and the request id. An unreachable
// database answers 503 with Retry-After, pages and hooks alike (Ksher then
// sends the notification again).
func (m *middleware) errorHandler(c *fiber.Ctx, err error) error {
	status, msgID, message := fiber.StatusInternalServerError, "error.internal", ""
	var data map[string]any
	var fe *fiber.Error
	switch {
	case errors.Is(err, errCSRF):
		status, msgID = fiber.StatusForbidden, "error.csrf"
	case errors.Is(err, errBadInput):
		status, msgID = fiber.StatusBadRequest, "error.bad_input"
	case errors.As(err, &fe):
		status = fe.Code
		switch fe.Code {
		case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
			status, msgID = fiber.StatusNotFound, "error.not_found"
		case fiber.StatusForbidden:
			msgID = "error.forbidden"
		case fiber.StatusTooManyRequests:
			msgID = "error.too_many"
		default:
			message = fe.Message
		}
	default:
		code := models.ErrorCode(err)
		status = codes[code]
		switch code {
		case models.EINTERNAL:
		case models.ENOTFOUND:
			msgID = "error.not_found"
		case models.EFORBIDDEN:
			// A refusal that names its reason (a support person's refund
			// limit) says it; others stay the generic "not allowed".
			msgID = "error.forbidden"
			if id := models.ErrorMessageID(err); id != "" {
				msgID, data = id, models.ErrorData(err)
			}
		case models.EUNAVAILABLE:
			msgID = "error.unavailable"
			c.Set(fiber.HeaderRetryAfter, retryAfter)
		default:
			if id := models.ErrorMessageID(err); id != "" {
				msgID, data = id, models.ErrorData(err)
			} else {
				message = models.ErrorMessage(err)
			}
		}
	}
	// An unreachable database is logged once by models' health monitor when
	// it goes away, not once per request that meets it.
	if status >= 500 && models.ErrorCode(err) != models.EUNAVAILABLE {
		m.log.Error("Request failed.", "request_id", handlers.RequestID(c), "path", c.Path(), slog.Any("error", err))
	}
	return m.h.RenderError(c, status, msgID, data, message)
}
