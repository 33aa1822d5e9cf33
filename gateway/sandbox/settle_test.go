package sandbox_test

import (
	"reflect"
	"testing"
	"time"
)

func TestSettlementArithmetic(t *testing.T) {
	e := MustEnv(t)
	pay := func(no, ch, amount string) {
		t.Helper()
		e.v3("native_pay", map[string]string{"mch_order_no": no, "total_fee": amount, "fee_type": "THB", "channel": ch})
		e.mustPay(no, ch)
	}
	// Wednesday 2024-01-03.
	pay("S-A", "promptpay", "50000")
	pay("S-B", "promptpay", "30000")
	pay("S-C", "truemoney", "5000")
	// Thursday: more truemoney, a partial refund of Wednesday's, a small linepay day.
	e.clock.Advance(24 * time.Hour)
	pay("S-D", "truemoney", "8000")
	if d := refund(e, "S-C", "S-RF", "5000", "1000"); d["result"] != "SUCCESS" {
		t.Fatalf("refund: %v", d)
	}
	pay("S-L", "linepay", "3000")
	// Friday: a card payment (T+2).
	e.clock.Advance(24 * time.Hour)
	e.gatewayPay("S-E", "20000", nil)
	e.mustPay("S-E", "card")
	// Monday: today's payment is not settled yet.
	e.clock.Advance(3 * 24 * time.Hour)
	pay("S-F", "promptpay", "10000")

	_, d := e.v3("get_settlement_info", map[string]string{"mch_appid": testAppID, "begin_date": "2024-01-01", "end_date": "2024-01-31"})
	rows := d["settlement_data"].([]any)
	type row struct {
		channel, begin, end, transferDate string
		amount, fee, vat, transfer        int64
	}
	var got []row
	for _, r := range rows {
		m := r.(map[string]any)
		got = append(got, row{m["pay_channel"].(string), m["begin_date"].(string), m["end_date"].(string), m["transfer_date"].(string),
			num(t, m, "settlement_amount"), num(t, m, "commission_fee"), num(t, m, "vat"), num(t, m, "transfer_amount")})
	}
	want := []row{
		// card: MDR 2.5 % of 20000 = 500, VAT 35, T+2 business days from Friday = Tuesday.
		{"card", "2024-01-05", "2024-01-05", "2024-01-09", 20000, 500, 35, 19465},
		// linepay: net 3000-60-4 = 2936 < 100 THB: carried over, not transferred.
		{"linepay", "2024-01-04", "2024-01-04", "", 3000, 60, 4, 0},
		// promptpay: MDR 0.8 % of 80000 = 640, VAT 44.8 -> 45, T+1 = Thursday.
		{"promptpay", "2024-01-03", "2024-01-03", "2024-01-04", 80000, 640, 45, 79315},
		// truemoney Wednesday: 5000 - 90 - 6 = 4904 carried.
		{"truemoney", "2024-01-03", "2024-01-03", "", 5000, 90, 6, 0},
		// truemoney Thursday: 8000 gross - 1000 refund; MDR 1.8 % of 8000 = 144, VAT 10;
		// 6846 + 4904 carried = 11750 transferred Friday, covering both days.
		{"truemoney", "2024-01-03", "2024-01-04", "2024-01-05", 7000, 144, 10, 11750},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settlements:\n got %+v\nwant %+v", got, want)
	}

	_, d = e.v3("get_settlement_info", map[string]string{"mch_appid": testAppID, "begin_date": "20240104", "end_date": "20240104", "pay_channel": "truemoney"})
	if rows := d["settlement_data"].([]any); len(rows) != 1 {
		t.Errorf("filtered rows = %v", rows)
	}
	_, d = e.v3("get_settlement_info", map[string]string{"mch_appid": testAppID, "begin_date": "2024-01-31", "end_date": "2024-01-01"})
	if d["err_code"] != "PARAM_ERROR" {
		t.Errorf("reversed range: %v", d)
	}

	st := e.sb.Settlements(testAppID, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))
	for _, s := range st {
		switch {
		case s.Channel == "card" && s.Transferred:
			t.Error("card settlement (Tuesday) marked transferred on Monday")
		case s.Channel == "promptpay" && !s.Transferred:
			t.Error("promptpay settlement (Thursday) not transferred by Monday")
		case s.Channel == "linepay" && s.Balance != 2936:
			t.Errorf("linepay balance = %d, want 2936", s.Balance)
		}
		if s.Net != s.Gross-s.Refund-s.Fee-s.VAT {
			t.Errorf("%+v: net is not gross - refund - fee - VAT", s)
		}
	}
}
