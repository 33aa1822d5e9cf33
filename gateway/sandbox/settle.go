package sandbox

import (
	"hash/fnv"
	"slices"
	"strconv"
	"time"
)

// Settlement is one settlement of one mid, channel and trade day (Bangkok
// local), computed from the orders and refunds the sandbox holds. Amounts
// are minor units (satang).
//
// Rules (UNCONFIRMED, see README.md): MDR is charged on gross sales at the
// channel's rate and is not returned on refunds; VAT is 7 % of the MDR; net
// = gross - refunds - MDR - VAT. A day is settled once it is over (cut-off
// at midnight Bangkok time). When the wallet's net, plus what earlier days
// carried over, is below 100 THB, nothing is transferred and the balance is
// carried to the next day with activity; otherwise it is transferred T+n
// business days (Mon-Fri, no holidays) after the trade day, n being the
// channel's settlement cycle.
type Settlement struct {
	Mid            string
	Channel        string
	Currency       string
	Day            time.Time // trade day (midnight, Bangkok)
	Start, End     time.Time // trade days whose money this settlement carries
	Count          int       // payments on the day
	Gross          int64
	Refund         int64
	Fee            int64 // MDR
	VAT            int64
	Net            int64 // of this day alone
	Carried        int64 // balance brought from earlier days
	Balance        int64 // not transferred, carried forward
	TransferAmount int64
	TransferDate   time.Time // zero when carried over
	Transferred    bool      // the transfer date has come
	ReferenceID    string
}

// txn is one line of a transaction report: a payment or a refund.
type txn struct {
	o      *Order
	r      *Refund
	at     time.Time
	amount int64 // negative for refunds
}

func (t txn) kind() string {
	if t.r != nil {
		return "REFUND"
	}
	return "PAY"
}

func sameMid(a, b string) bool { return a == b || mchNumber(a) == mchNumber(b) }

// transactions lists the payments and refunds of mid (caller holds s.mu).
func (s *Sandbox) transactions(mid string) []txn {
	var out []txn
	for _, o := range s.st.Orders {
		if !sameMid(o.Merchant, mid) || o.Kind == "payout" || o.PaidAt.IsZero() {
			continue
		}
		out = append(out, txn{o: o, at: o.PaidAt, amount: o.Amount})
		for _, r := range o.Refunds {
			out = append(out, txn{o: o, r: r, at: r.Time, amount: -r.Amount})
		}
	}
	slices.SortStableFunc(out, func(a, b txn) int { return a.at.Compare(b.at) })
	return out
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.In(bangkok).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, bangkok)
}

// addBusinessDays moves n weekdays forward.
func addBusinessDays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}

// referenceID looks like Ksher's "20220310_35618_XVHNDY".
func referenceID(mid, ch string, day time.Time) string {
	h := fnv.New64a()
	h.Write([]byte(mid + "|" + ch + "|" + day.Format("20060102")))
	v := h.Sum64()
	b := make([]byte, 6)
	for i := range b {
		b[i] = byte('A' + v%26)
		v /= 26
	}
	return day.Format("20060102") + "_" + mchNumber(mid) + "_" + string(b)
}

// allSettlements computes every settlement of mid up to yesterday (caller
// holds s.mu).
func (s *Sandbox) allSettlements(mid string) []*Settlement {
	today := dayOf(s.now())
	type key struct {
		ch  string
		day time.Time
	}
	byKey := map[key]*Settlement{}
	var keys []key
	for _, t := range s.transactions(mid) {
		d := dayOf(t.at)
		if !d.Before(today) {
			continue
		}
		k := key{t.o.Channel, d}
		st := byKey[k]
		if st == nil {
			st = &Settlement{Mid: mid, Channel: t.o.Channel, Currency: t.o.Currency, Day: d}
			byKey[k] = st
			keys = append(keys, k)
		}
		if t.r == nil {
			st.Count++
			st.Gross += t.amount
		} else {
			st.Refund -= t.amount
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.ch != b.ch {
			if a.ch < b.ch {
				return -1
			}
			return 1
		}
		return a.day.Compare(b.day)
	})
	var out []*Settlement
	carry := map[string]int64{}
	start := map[string]time.Time{}
	for _, k := range keys {
		st := byKey[k]
		st.Fee = mdrFee(st.Gross, st.Channel)
		st.VAT = vatOn(st.Fee)
		st.Net = st.Gross - st.Refund - st.Fee - st.VAT
		st.Carried = carry[k.ch]
		if start[k.ch].IsZero() {
			start[k.ch] = k.day
		}
		st.Start, st.End = start[k.ch], k.day
		st.ReferenceID = referenceID(mid, k.ch, k.day)
		if avail := st.Carried + st.Net; avail >= minTransfer {
			st.TransferAmount = avail
			st.TransferDate = addBusinessDays(k.day, ruleFor(k.ch).cycle)
			st.Transferred = !st.TransferDate.After(today)
			carry[k.ch], start[k.ch] = 0, time.Time{}
		} else {
			st.Balance = avail
			carry[k.ch] = avail
		}
		out = append(out, st)
	}
	return out
}

// settlements returns the settlements of mid whose trade day is within
// [from, to] (caller holds s.mu).
func (s *Sandbox) settlements(mid string, from, to time.Time) []*Settlement {
	from, to = dayOf(from), dayOf(to)
	var out []*Settlement
	for _, st := range s.allSettlements(mid) {
		if !st.Day.Before(from) && !st.Day.After(to) {
			out = append(out, st)
		}
	}
	return out
}

// Settlements returns the settlements of mid (an appid or vip mid) whose
// trade day is within [from, to], ordered by channel and day.
func (s *Sandbox) Settlements(mid string, from, to time.Time) []Settlement {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Settlement
	for _, st := range s.settlements(mid, from, to) {
		out = append(out, *st)
	}
	return out
}

func dateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// v3Row is one get_settlement_info settlement_data element (API.md A.4):
// settlement_amount = gross - refunds; transfer_amount/transfer_date are 0
// and "" when the day is carried over.
func (st *Settlement) v3Row() map[string]any {
	return map[string]any{
		"pay_channel": st.Channel, "begin_date": dateText(st.Start), "end_date": dateText(st.End),
		"settlement_date": dateText(st.Day.AddDate(0, 0, 1)), "settlement_amount": st.Gross - st.Refund,
		"commission_fee": st.Fee, "vat": st.VAT, "transfer_amount": st.TransferAmount,
		"transfer_date": dateText(st.TransferDate),
	}
}

// vipSummary is the data of GET /api/v1/finance/settlements/{yyyymmdd}
// (API.md B.4.4). fee is the MDR and other_fee its VAT; refund_fee (MDR
// given back on refunds) is always 0; balance is what is carried forward.
func (st *Settlement) vipSummary() map[string]any {
	return map[string]any{
		"amount": st.Gross, "count": st.Count, "fee": st.Fee, "refund": st.Refund, "refund_fee": 0,
		"other_fee": st.VAT, "adjustment": 0, "net": st.Net, "balance": st.Balance,
		"transfer": st.Transferred, "transfer_amount": st.TransferAmount, "reference_id": st.ReferenceID,
		"start": dateText(st.Start), "end": dateText(st.End),
		"time":    st.Day.AddDate(0, 0, 1).Add(2 * time.Hour).Format("2006-01-02 15:04:05"),
		"channel": st.Channel, "currency": st.Currency,
	}
}

// vipTxnRow is one row of the transaction report (API.md B.4.4). Refund
// rows have type REFUND, a negative amount, the original order's id in
// order_id and the Ksher refund number in ksher_order_id (UNCONFIRMED).
func vipTxnRow(t txn) map[string]any {
	op, _ := strconv.Atoi(t.o.OperatorID)
	ksherID := t.o.KsherOrderNo
	if t.r != nil {
		ksherID = t.r.KsherRefundNo
	}
	return map[string]any{
		"amount": t.amount, "transaction_time": t.at.In(bangkok).Format("2006-01-02 15:04:05"), "type": t.kind(),
		"channel": t.o.Channel, "device_id": t.o.DeviceID, "operator_id": op, "operator_name": "",
		"currency": t.o.Currency, "order_id": t.o.MchOrderNo, "ksher_order_id": ksherID,
	}
}
