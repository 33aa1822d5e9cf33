package handlers

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// HookReceiver is what the notification receivers need: models.Notifications.
type HookReceiver interface {
	Receive(ctx context.Context, req models.HookRequest) (models.HookResult, error)
}

// HookV3Create handles POST /hooks/ksher/v3/:account, a v3 payment
// notification (API.md A.6), answered with Ksher's exact acknowledgement
// once verified and stored.
func (h *Handler) HookV3Create(c *fiber.Ctx) error {
	req := hookRequest(c, models.NotifyV3)
	req.Body = c.Body()
	return h.hookAnswer(c, req)
}

// HookVIPShow handles GET /hooks/ksher/vip/:account, a vip webhook (API.md
// B.5). Its HMAC covers the full URL Ksher called: the configured BASE_URL
// (not the Host header a proxy may rewrite) plus the path as received, and
// the query parameters.
func (h *Handler) HookVIPShow(c *fiber.Ctx) error {
	req := hookRequest(c, models.NotifyVIP)
	path, _, _ := strings.Cut(req.URI, "?")
	req.SignedURL = h.publicURL(c) + path
	return h.hookAnswer(c, req)
}

func hookRequest(c *fiber.Ctx, api string) models.HookRequest {
	return models.HookRequest{API: api, Account: c.Params("account"), Method: c.Method(),
		URI: string(c.Request().RequestURI()), RemoteIP: ClientIP(c), RequestID: RequestID(c)}
}

// hookStatus is the HTTP answer to each outcome: a refusal is never a
// success, so Ksher sends a genuine notification again; 503 where a retry
// may succeed (credentials being fixed, Ksher asked again).
var hookStatus = map[models.HookOutcome]int{
	models.HookAccepted:       fiber.StatusOK,
	models.HookReplay:         fiber.StatusOK,
	models.HookRetry:          fiber.StatusServiceUnavailable,
	models.HookUnknownAccount: fiber.StatusNotFound,
	models.HookWrongAPI:       fiber.StatusNotFound,
	models.HookAccountConfig:  fiber.StatusServiceUnavailable,
	models.HookTooLarge:       fiber.StatusRequestEntityTooLarge,
	models.HookBadRequest:     fiber.StatusBadRequest,
	models.HookBadSignature:   fiber.StatusBadRequest,
	models.HookThrottled:      fiber.StatusTooManyRequests,
}

// hookAnswer receives the notification through the service and writes the
// answer Ksher expects: v3's exact acknowledgement, else a small JSON body.
func (h *Handler) hookAnswer(c *fiber.Ctx, req models.HookRequest) error {
	res, err := h.hooks.Receive(c.UserContext(), req)
	if err != nil {
		return err
	}
	status := hookStatus[res.Outcome]
	if res.Outcome == models.HookBadSignature && req.API == models.NotifyVIP {
		status = fiber.StatusUnauthorized
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if req.API == models.NotifyV3 && res.Outcome == models.HookAccepted {
		return c.Status(status).Send(gateway.V3NotificationAck)
	}
	var body []byte
	if req.API == models.NotifyV3 {
		body, _ = json.Marshal(map[string]string{"result": "FAIL", "msg": res.Message})
	} else {
		body, _ = json.Marshal(map[string]any{"success": status == fiber.StatusOK, "message": res.Message})
	}
	return c.Status(status).Send(body)
}

// publicURL is the app's public origin (and path prefix) as Ksher knows it:
// BASE_URL, or, when none is configured, the request's own scheme and host.
func (h *Handler) publicURL(c *fiber.Ctx) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimRight(h.cfg.BaseURL, "/")
	}
	return c.BaseURL()
}

// v3NotifyURL is the notify_url (mch_notify_url) to give Ksher when
// creating a v3 order or payment link of the account: this receiver, at
// the public BASE_URL.
func (h *Handler) v3NotifyURL(accountID int64) string {
	return strings.TrimRight(h.cfg.BaseURL, "/") + "/hooks/ksher/v3/" + strconv.FormatInt(accountID, 10)
}
