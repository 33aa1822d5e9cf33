package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// Why a notification was refused: the stored error starts with one of
// these codes (the event log words them), then ": " and the detail.
const (
	hookErrUnknownAccount = "unknown_account" // the URL names no account
	hookErrWrongAPI       = "wrong_api"       // a v3 notification to a vip account, or the reverse
	hookErrAccountConfig  = "account_config"  // the account's credentials cannot verify anything
	hookErrTooLarge       = "too_large"       // body over models.MaxNotificationBody
	hookErrBadRequest     = "bad_request"     // not a notification at all
	hookErrBadSignature   = "bad_signature"   // the signature does not verify
)

// hookRefusal is an answer that refuses a notification.
type hookRefusal struct {
	status int
	code   string
	detail string
}

// hookRecord starts the record of a received notification, before anything
// in it is trusted.
func hookRecord(c *fiber.Ctx, api string) *models.Notification {
	return &models.Notification{APIKind: api, Method: c.Method(), URL: storable(c.Request().RequestURI(), 4096), RemoteIP: ClientIP(c)}
}

// storable makes received bytes fit a text column: valid UTF-8, no NUL,
// at most max bytes.
func storable(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
}

// hookAccount resolves the :account of a receiver's URL to its gateway
// client, which holds the keys that verify the notification.
func (h *Handler) hookAccount(c *fiber.Ctx, n *models.Notification, api gateway.APIKind) (*gateway.Client, *models.MerchantAccount, *hookRefusal) {
	id, err := strconv.ParseInt(c.Params("account"), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, &hookRefusal{fiber.StatusNotFound, hookErrUnknownAccount, "the URL names no account"}
	}
	gw, a, err := h.orderCache.Clients().For(c.UserContext(), id)
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND:
		return nil, nil, &hookRefusal{fiber.StatusNotFound, hookErrUnknownAccount, "no account " + strconv.FormatInt(id, 10)}
	case errors.Is(err, models.ErrGatewayConfig):
		n.AccountID = &id
		// 503: Ksher retries, and may succeed once the credentials are fixed.
		return nil, nil, &hookRefusal{fiber.StatusServiceUnavailable, hookErrAccountConfig, err.Error()}
	case err != nil:
		return nil, nil, &hookRefusal{status: fiber.StatusInternalServerError, detail: err.Error()}
	}
	n.AccountID = &a.ID
	if gw.API() != api {
		return nil, nil, &hookRefusal{fiber.StatusNotFound, hookErrWrongAPI, "account " + strconv.FormatInt(id, 10) + " uses the " + string(gw.API()) + " API"}
	}
	return gw, a, nil
}

// hookRefuse stores a refused notification (within the budget for those)
// and answers with a non-success status, so Ksher retries a genuine one.
func (h *Handler) hookRefuse(c *fiber.Ctx, n *models.Notification, r *hookRefusal) error {
	if r.status == fiber.StatusInternalServerError {
		return errors.New("hooks: " + r.detail)
	}
	ctx := c.UserContext()
	ok, err := h.ops().AllowInvalidNotification(ctx)
	if err != nil {
		return err
	}
	if !ok {
		h.log.Warn("Refused notification not stored: too many in the last minute.", "api", n.APIKind, "remote_ip", n.RemoteIP)
		return hookAnswer(c, n.APIKind, fiber.StatusTooManyRequests, "too many invalid notifications")
	}
	n.Valid, n.Error = false, r.code+": "+r.detail
	if _, err := h.ops().SaveNotification(ctx, n, nil); err != nil {
		return err
	}
	h.log.Warn("Notification refused.", "api", n.APIKind, "reason", r.code, "remote_ip", n.RemoteIP, "request_id", RequestID(c))
	return hookAnswer(c, n.APIKind, r.status, r.code)
}

// hookAnswer writes a receiver's JSON answer other than v3's exact ack.
func hookAnswer(c *fiber.Ctx, api string, status int, msg string) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	var body []byte
	if api == models.NotifyV3 {
		body, _ = json.Marshal(map[string]string{"result": "FAIL", "msg": msg})
	} else {
		body, _ = json.Marshal(map[string]any{"success": status == fiber.StatusOK, "message": msg})
	}
	return c.Status(status).Send(body)
}

// hookDigest identifies a notification by its signed content: Ksher's
// signatures are deterministic (RSA PKCS#1 v1.5, HMAC), so the same
// notification sent again has the same digest, and another one a different
// digest.
func hookDigest(api string, accountID int64, signature string) string {
	sum := sha256.Sum256([]byte(api + "\x00" + strconv.FormatInt(accountID, 10) + "\x00" + signature))
	return hex.EncodeToString(sum[:])
}
