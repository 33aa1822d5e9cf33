package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// seedOrderCache fills the order cache from the sandbox's orders that are
// not cached yet (source "seed"), so that in sandbox mode the lists have a
// few hundred rows from the first minute. It runs on every start: what is
// cached already is left alone, so it is idempotent, and after the first
// start it reads one column per mid and writes nothing. Demo data only: a
// failure is logged, not fatal.
//
// The seeded history is made to look like real history, where Ksher's
// notification told us about each payment: the sandbox's seed does not
// model delivery at all (seeded orders send no notifications, and none is
// ever lost), so every seeded paid order counts as notified at its paid
// time. Otherwise about a hundred of them would fill the drift page's "Paid,
// but no notification" on a fresh demo, none of them a real case. We keep
// none deliberately un-notified: any would be drift the simulated Ksher
// never caused. The demo's real cases come from live orders (a payment
// whose notification cannot reach us; the sandbox's faults), whose delivery
// the sandbox does model. Orders seeded by an earlier version are marked
// too (those that are still unmarked; a no-op afterwards).
func seedOrderCache(ctx context.Context, store *models.Store, sb *sandbox.Sandbox, log *slog.Logger) {
	start := time.Now()
	mids, err := store.AllMids(ctx)
	if err != nil {
		log.Warn("Cannot seed the order cache.", slog.Any("error", err))
		return
	}
	accountOf := map[string]int64{}
	cached := map[string]map[string]bool{}
	for _, m := range mids {
		accountOf[m.Mid] = m.AccountID
	}
	var updates []models.OrderUpdate
	var notified []models.OrderKey
	for _, o := range sb.Orders() {
		mid := o.Merchant
		accountID, ok := accountOf[mid]
		if !ok || o.Kind == "payout" {
			continue
		}
		if o.Seeded && !o.PaidAt.IsZero() {
			notified = append(notified, models.OrderKey{Mid: mid, MchOrderNo: o.MchOrderNo})
		}
		if cached[mid] == nil {
			if cached[mid], err = store.CachedOrderNos(ctx, mid); err != nil {
				log.Warn("Cannot seed the order cache.", slog.Any("error", err))
				return
			}
		}
		if cached[mid][o.MchOrderNo] {
			continue
		}
		updates = append(updates, seedUpdate(accountID, &o))
	}
	if len(updates) > 0 {
		n, err := store.UpsertOrders(ctx, updates)
		if err != nil {
			log.Warn("Cannot seed the order cache.", slog.Any("error", err))
			return
		}
		log.Info("Order cache seeded from the sandbox.", "orders", n, "ms", time.Since(start).Milliseconds())
	}
	if len(notified) == 0 {
		return
	}
	if n, err := store.MarkSeededNotified(ctx, notified); err != nil {
		log.Warn("Cannot mark the seeded orders as notified.", slog.Any("error", err))
	} else if n > 0 {
		log.Info("Seeded paid orders marked as notified when paid.", "orders", n)
	}
}

// seedUpdate maps a sandbox order to what Ksher would have told us about
// it. A v3 hosted checkout (gateway_pay) is cached as a payment link whose
// gateway number is the KsherPay order behind it, as the payment-links page
// stores the links it creates.
func seedUpdate(accountID int64, o *sandbox.Order) models.OrderUpdate {
	u := models.OrderUpdate{AccountID: accountID, Mid: o.Merchant, MchOrderNo: o.MchOrderNo, KsherOrderNo: o.KsherOrderNo,
		ChannelOrderNo: o.ChannelOrderNo, Status: seedStatus(o), Amount: o.Amount, Currency: o.Currency,
		Channel: o.Channel, Product: o.Product, Source: "seed", Event: "seed", Summary: "cached from the sandbox's history"}
	created := o.Created.UTC()
	u.CreatedAt = &created
	if !o.PaidAt.IsZero() {
		paid := o.PaidAt.UTC()
		u.PaidAt = &paid
	}
	switch {
	case o.API == "vip":
		// The sandbox's vip gateway_order_id is "sandbox" + the order's number.
		u.Kind, u.GatewayOrderNo = o.Kind, "sandbox"+strconv.FormatInt(o.NumID, 10)
	case o.Kind == "gateway_pay":
		u.Kind, u.GatewayOrderNo = models.OrderKindLink, o.PayMchOrderNo
	default:
		u.Kind = models.OrderKindKsherPay
	}
	for _, r := range o.Refunds {
		if r.Reverse {
			continue
		}
		u.Refunds = append(u.Refunds, models.RefundSeen{MchRefundNo: r.MchRefundNo, KsherRefundNo: r.KsherRefundNo,
			ChannelRefundNo: r.ChannelRefundNo, Amount: r.Amount, At: r.Time})
	}
	return u
}

// seedStatus maps the sandbox's internal state to ours; refunds then set
// refunded or partially refunded.
func seedStatus(o *sandbox.Order) string {
	switch o.State {
	case "paid":
		return models.StatusPaid
	case "pending", "abandoned":
		return models.StatusPending
	case "paying":
		return models.StatusNotSure
	case "failed":
		return models.StatusFailed
	case "closed", "expired":
		return models.StatusClosed
	case "reversed":
		return models.StatusReversed
	}
	return models.StatusUnknown
}
