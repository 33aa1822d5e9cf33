package handlers

import (
	"net/url"
	"regexp"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// OrderRefresh handles POST /m/:mid/orders/:id/refresh: ask Ksher about the
// order now, whatever its state, but never sooner than models.QueryGap after Ksher
// last spoke about it (across replicas: refreshOrder goes through
// Upstream). htmx gets the order panel back with what happened, or, when
// Ksher did not answer in time or answered unusably, that error (504, 502:
// web swaps it into #flash). A plain form is sent back to the detail page,
// whose timeline shows the call; a refusal in Ksher's own words (which no
// URL carries) is shown on the detail page at once.
func (h *Handler) OrderRefresh(c *fiber.Ctx) error {
	o, err := h.scopedOrder(c)
	if err != nil {
		return err
	}
	o, up := h.orderCache.Refresh(c.UserContext(), o, true)
	htmx := c.Get("HX-Request") == "true"
	code := models.ErrorCode(up.Err)
	if code == models.EINTERNAL || code == models.EUNAVAILABLE || (htmx && (code == models.EGATEWAYTIMEOUT || code == models.EBADGATEWAY)) {
		return up.Err
	}
	refused := code == models.EINVALID || code == models.ETOOMANYREQUEST
	if !htmx && !refused {
		// The detail page words the outcome (refreshedNotice).
		return redirectAfterPost(c, orderURL(o)+"?"+refreshOutcome(up).Encode())
	}
	loc := h.midZone(ScopeOf(c).Access, o.Mid)
	var notice *views.OrderNotice
	switch {
	case refused && models.ErrorMessageID(up.Err) != "":
		msg := views.Tf(c.UserContext(), models.ErrorMessageID(up.Err), models.ErrorData(up.Err))
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.refused", Data: map[string]any{"Message": msg}}
	case up.Err != nil:
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": models.GatewayErrorCode(up.Err)}}
	case !up.Called:
		notice = &views.OrderNotice{Kind: "info", ID: "orders.notice.too_soon", Data: map[string]any{"Time": views.Moment{T: up.NextAt(), Zone: loc}.String()}}
	case !up.Found:
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.unknown"}
	default:
		notice = &views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{
			"Status": h.T(c, "orders.status."+o.Status), "Latency": up.Latency.Milliseconds()}}
	}
	vm, err := h.orderShowVM(c, o, notice)
	if err != nil {
		return err
	}
	if !htmx {
		return render(c, fiber.StatusOK, views.OrderShowPage(h.layout(c, "orders.detail.page_title"), vm))
	}
	return render(c, fiber.StatusOK, views.OrderPanel(vm))
}

// refreshOutcome is what a refresh did, for the detail page a plain form
// is sent back to: ?refreshed=timeout|failed|too_soon|unknown|asked (with
// the error's code, or the call's latency).
func refreshOutcome(up models.UpstreamNote) url.Values {
	switch {
	case models.ErrorCode(up.Err) == models.EGATEWAYTIMEOUT:
		return url.Values{"refreshed": {"timeout"}}
	case up.Err != nil:
		return url.Values{"refreshed": {"failed"}, "code": {models.GatewayErrorCode(up.Err)}}
	case !up.Called:
		return url.Values{"refreshed": {"too_soon"}}
	case !up.Found:
		return url.Values{"refreshed": {"unknown"}}
	}
	return url.Values{"refreshed": {"asked"}, "ms": {strconv.FormatInt(up.Latency.Milliseconds(), 10)}}
}

// refreshCodeRe bounds the error code a ?refreshed=failed link may show.
var refreshCodeRe = regexp.MustCompile(`^[A-Za-z0-9_. -]{1,80}$`)

// refreshedNotice words the ?refreshed= outcome of a plain-form refresh
// (refreshOutcome) on the detail page; nil when there is none.
func (h *Handler) refreshedNotice(c *fiber.Ctx, o *models.Order, vm views.OrderShowVM) *views.OrderNotice {
	switch c.Query("refreshed") {
	case "failed":
		code := c.Query("code")
		if !refreshCodeRe.MatchString(code) {
			code = "error"
		}
		return &views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": code}}
	case "timeout":
		return &views.OrderNotice{Kind: "error", ID: "orders.notice.timeout"}
	case "too_soon":
		if vm.NextAskAt.IsZero() {
			return nil // it may be asked again now
		}
		return &views.OrderNotice{Kind: "info", ID: "orders.notice.too_soon", Data: map[string]any{"Time": vm.NextAskAt.String()}}
	case "unknown":
		return &views.OrderNotice{Kind: "error", ID: "orders.notice.unknown"}
	case "asked":
		ms, _ := strconv.Atoi(c.Query("ms"))
		return &views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{
			"Status": h.T(c, "orders.status."+o.Status), "Latency": max(ms, 0)}}
	}
	return nil
}
