package handlers

import (
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// refundURL is a refund's page, under its own mid.
func refundURL(r *models.Refund) string {
	return "/m/" + r.Mid + "/refunds/" + strconv.FormatInt(r.ID, 10)
}

// refundRow is a refund as the lists, its page and the panel show it.
func refundRow(r *models.Refund, orderNo, requester string, loc *time.Location) views.RefundRowVM {
	row := views.RefundRowVM{ID: r.ID, URL: refundURL(r), Mid: r.Mid, Status: r.Status,
		Amount: views.Money{Minor: r.Amount, Currency: r.Currency}, OrderNo: orderNo,
		OrderURL: "/m/" + r.Mid + "/orders/" + strconv.FormatInt(r.OrderID, 10), Requester: requester, Reason: r.Reason,
		MchRefundNo: r.MchRefundNo, KsherRefundNo: r.KsherRefundNo, Origin: r.Origin, NeedsPerson: r.NeedsPerson,
		Created: views.Moment{T: r.CreatedAt, Zone: loc}}
	if r.Status == models.RefundPending {
		row.PollURL = row.URL
	}
	return row
}

// moneyKeys are the placeholders of the refund messages that models give
// in minor units (with "Currency"); the catalogs get them formatted.
var moneyKeys = []string{"Remaining", "Cap"}

// wordMoney returns data with its amounts formatted ("1,234.50 THB").
func wordMoney(data map[string]any) map[string]any {
	cur, _ := data["Currency"].(string)
	if cur == "" {
		return data
	}
	out := maps.Clone(data)
	for _, k := range moneyKeys {
		if v, ok := data[k].(int64); ok {
			out[k] = moneyText(v, cur)
		}
	}
	return out
}

// refundProblems words the amounts of the refund form's problems.
func refundProblems(p models.Problems) models.Problems {
	out := models.Problems{}
	for field, pr := range p {
		pr.Data = wordMoney(pr.Data)
		out[field] = pr
	}
	return out
}

// refundError words the amounts of a refusal (a support person's cap),
// which web's error page shows.
func refundError(err error) error {
	var me *models.Error
	if errors.As(err, &me) && me.Data != nil {
		cp := *me
		cp.Data = wordMoney(me.Data)
		return &cp
	}
	return err
}
