package handlers

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// HookV3Create handles POST /hooks/ksher/v3/:account, a v3 payment
// notification (API.md A.6): its sign is verified over data with the
// account's Ksher public key before anything in it is used. It is stored
// raw with the order's new state, in one transaction, then answered with
// Ksher's exact acknowledgement; a refused one is stored as invalid and
// answered with a failure, so that Ksher sends a genuine one again.
func (h *Handler) HookV3Create(c *fiber.Ctx) error {
	n := hookRecord(c, models.NotifyV3)
	body := c.Body()
	n.Body = storable(body, models.MaxNotificationBody)
	if len(body) > models.MaxNotificationBody {
		return h.hookRefuse(c, n, &hookRefusal{fiber.StatusRequestEntityTooLarge, hookErrTooLarge, "body over 64 KiB"})
	}
	gw, a, refusal := h.hookAccount(c, n, gateway.APIV3)
	if refusal != nil {
		return h.hookRefuse(c, n, refusal)
	}
	note, err := gw.Notifications.ParseV3(body)
	if err != nil {
		return h.hookRefuse(c, n, &hookRefusal{fiber.StatusBadRequest, hookErrBadSignature, err.Error()})
	}
	n.Valid, n.Mid, n.MchOrderNo, n.Status = true, note.Mid, note.MerchantOrderID, string(note.Status)
	n.Digest = hookDigest(models.NotifyV3, a.ID, v3Sign(note.Raw))
	u := notificationUpdate(a.ID, note)
	saved, err := h.ops().SaveNotification(c.UserContext(), n, &u)
	if err != nil {
		return err
	}
	h.log.Info("Notification received.", "api", n.APIKind, "mid", n.Mid, "order", n.MchOrderNo, "status", n.Status,
		"changed", n.Changed, "replay", n.Replay, "stored", saved.Stored, "request_id", RequestID(c))
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(fiber.StatusOK).Send(gateway.V3NotificationAck)
}

// v3Sign returns the sign of a verified v3 envelope, lower-cased (Ksher's
// hex may come in either case).
func v3Sign(raw []byte) string {
	var env struct {
		Sign string `json:"sign"`
	}
	_ = json.Unmarshal(raw, &env)
	return strings.ToLower(env.Sign)
}

// notificationUpdate maps a verified v3 notification to a cache update: a
// payment link's notification names the link (mch_order_no) and the
// KsherPay order behind it (pay_mch_order_no); a KsherPay order's names
// the order.
func notificationUpdate(accountID int64, n *gateway.Notification) models.OrderUpdate {
	u := models.OrderUpdate{AccountID: accountID, Mid: n.Mid, Kind: models.OrderKindKsherPay, MchOrderNo: n.MerchantOrderID,
		KsherOrderNo: n.KsherOrderID, ChannelOrderNo: n.ChannelOrderID, Status: string(n.Status), RawStatus: n.RawStatus,
		Amount: n.Amount, Currency: n.Currency, Channel: n.Channel, Raw: n.Raw, Source: "notification",
		Event: "notification", Summary: "notification: " + string(n.Status), Notified: true, Checked: true}
	if n.RawStatus != "" {
		u.Summary += " (" + n.RawStatus + ")"
	}
	if n.Type == "payment_link" {
		u.Kind, u.GatewayOrderNo = models.OrderKindLink, n.PayOrderID
	}
	if t, ok := ksherLocalTime(n.PaidAt); ok {
		u.PaidAt = &t
	}
	return u
}
