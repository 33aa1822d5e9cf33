package handlers

import (
	"strconv"
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
	n.Digest = hookDigest(models.NotifyV3, a.ID, note.Signature)
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

// notificationUpdate maps a verified v3 notification to a cache update
// through the order cache's own mapping (OrderUpdateFrom, for a KsherPay
// order; OrderUpdateFromLink, for a payment link, whose notification also
// names the KsherPay order behind it), marked as told by a notification.
func notificationUpdate(accountID int64, n *gateway.Notification) models.OrderUpdate {
	var u models.OrderUpdate
	if n.Type == "payment_link" {
		u = models.OrderUpdateFromLink(accountID, &gateway.PaymentLink{Meta: n.Meta, Mid: n.Mid, MerchantOrderID: n.MerchantOrderID,
			Amount: n.Amount, Currency: n.Currency, Channel: n.Channel, KsherOrderID: n.KsherOrderID, PayOrderID: n.PayOrderID,
			ChannelOrderID: n.ChannelOrderID, PaidAt: n.PaidAt, Status: n.Status})
	} else {
		u = models.OrderUpdateFrom(accountID, models.OrderKindKsherPay, &gateway.Order{Meta: n.Meta, Mid: n.Mid, MerchantOrderID: n.MerchantOrderID,
			KsherOrderID: n.KsherOrderID, ChannelOrderID: n.ChannelOrderID, Channel: n.Channel, Amount: n.Amount, Currency: n.Currency,
			PaidAt: n.PaidAt, Status: n.Status})
	}
	u.Source, u.Event, u.Notified, u.Checked = "notification", "notification", true, true
	u.Summary = "notification: " + string(n.Status)
	if n.RawStatus != "" {
		u.Summary += " (" + n.RawStatus + ")"
	}
	return u
}

// v3NotifyURL is the notify_url (mch_notify_url) to give Ksher when
// creating a v3 order or payment link of the account: this receiver, at
// the public BASE_URL.
func (h *Handler) v3NotifyURL(accountID int64) string {
	return strings.TrimRight(h.cfg.BaseURL, "/") + "/hooks/ksher/v3/" + strconv.FormatInt(accountID, 10)
}
