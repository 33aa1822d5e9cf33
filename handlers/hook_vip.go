package handlers

import (
	"context"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// HookVIPShow handles GET /hooks/ksher/vip/:account, a vip webhook
// (API.md B.5). Its HMAC covers the full URL Ksher called: the configured
// BASE_URL (not the Host header a proxy may rewrite) plus the path as
// received, and the query parameters. A verified webhook is stored, then,
// since it carries no amounts, the order is asked about once (through the
// order cache's upstream guard) and the answer stored; 200 once done. A
// refused one is stored as invalid and answered 401.
func (h *Handler) HookVIPShow(c *fiber.Ctx) error {
	n := hookRecord(c, models.NotifyVIP)
	gw, a, refusal := h.hookAccount(c, n, gateway.APIVIP)
	if refusal != nil {
		return h.hookRefuse(c, n, refusal)
	}
	path, rawQuery, _ := strings.Cut(string(c.Request().RequestURI()), "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return h.hookRefuse(c, n, &hookRefusal{fiber.StatusBadRequest, hookErrBadRequest, "query does not parse"})
	}
	note, err := gw.Notifications.ParseVIP(h.publicURL(c)+path, query)
	if err != nil {
		return h.hookRefuse(c, n, &hookRefusal{fiber.StatusUnauthorized, hookErrBadSignature, err.Error()})
	}
	ctx := c.UserContext()
	n.Valid, n.MchOrderNo, n.Status = true, note.MerchantOrderID, string(note.Status)
	n.Digest = hookDigest(models.NotifyVIP, a.ID, note.Signature)
	cached, err := h.ops().CachedOrderOfAccount(ctx, a.ID, note.MerchantOrderID)
	if err != nil && models.ErrorCode(err) != models.ENOTFOUND {
		return err
	}
	if cached != nil {
		n.Mid = cached.Mid
	}
	saved, err := h.ops().SaveNotification(ctx, n, nil)
	if err != nil {
		return err
	}
	if n.Replay {
		h.log.Info("Webhook received again; already handled.", "order", n.MchOrderNo, "stored", saved.Stored, "request_id", RequestID(c))
		return hookAnswer(c, models.NotifyVIP, fiber.StatusOK, "already handled")
	}
	o, asked, err := h.webhookQuery(ctx, a, cached, note.MerchantOrderID)
	if err != nil {
		// Unhandled: Ksher retries every 5 s (6 times), and the retry asks again.
		h.log.Warn("Webhook could not be checked with Ksher.", "order", n.MchOrderNo, slogErr(err), "request_id", RequestID(c))
		return hookAnswer(c, models.NotifyVIP, fiber.StatusServiceUnavailable, "cannot ask Ksher about the order now")
	}
	agrees := o != nil && webhookAgrees(note.Status, o.Status)
	if !agrees && !asked {
		// Ksher was asked about this order under 10 s ago, before this
		// change: answer "not yet" so the retry asks again.
		return hookAnswer(c, models.NotifyVIP, fiber.StatusServiceUnavailable, "asked about the order moments ago; retry")
	}
	changed := o != nil && (cached == nil || o.Status != cached.Status || o.Amount != cached.Amount || o.KsherOrderNo != cached.KsherOrderNo)
	if err := h.ops().HandleNotification(ctx, n.ID, o, changed, agrees); err != nil {
		return err
	}
	if o != nil {
		summary := "webhook: " + note.Message + " → " + o.Status
		if err := h.orders().AddOrderEvent(ctx, o.ID, "notification", summary, agrees, 0, nil); err != nil {
			h.log.Warn("Cannot record the webhook in the timeline.", "order_id", o.ID, slogErr(err))
		}
	}
	h.log.Info("Webhook received.", "order", n.MchOrderNo, "message", note.Message, "asked", asked, "changed", changed, "request_id", RequestID(c))
	return hookAnswer(c, models.NotifyVIP, fiber.StatusOK, "OK")
}

// publicURL is the app's public origin (and path prefix) as Ksher knows it:
// BASE_URL, or, when none is configured, the request's own scheme and host.
func (h *Handler) publicURL(c *fiber.Ctx) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimRight(h.cfg.BaseURL, "/")
	}
	return c.BaseURL()
}

// webhookQuery asks Ksher about the order a webhook names: a cached order
// through the order cache's refresh, an unknown one through a live search
// on the account's mids. It returns the order as cached afterwards (nil if
// Ksher does not know it) and whether this request asked Ksher.
func (h *Handler) webhookQuery(ctx context.Context, a *models.MerchantAccount, cached *models.Order, id string) (*models.Order, bool, error) {
	if cached != nil {
		o, up := h.orderCache.Refresh(ctx, cached, true)
		return o, up.Called, up.Err
	}
	asked := false
	for _, m := range a.Mids {
		up := h.orderCache.FindLive(ctx, models.MidAccess{Mid: m}, id)
		asked = asked || up.Called
		if up.Err != nil {
			return nil, asked, up.Err
		}
		if up.Found {
			o, err := h.ops().CachedOrderOfAccount(ctx, a.ID, id)
			return o, asked, err
		}
	}
	return nil, asked, nil
}

// webhookAgrees reports whether the cached state is the one the webhook
// announced, or one that can only come after it.
func webhookAgrees(said gateway.Status, cached string) bool {
	switch said {
	case gateway.StatusPaid:
		return cached == models.StatusPaid || cached == models.StatusPartiallyRefunded || cached == models.StatusRefunded
	case gateway.StatusRefunded:
		return cached == models.StatusPartiallyRefunded || cached == models.StatusRefunded
	case gateway.StatusClosed:
		return cached == models.StatusClosed || cached == models.StatusFailed
	}
	return cached != ""
}
