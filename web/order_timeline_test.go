package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/models"
)

var timelineWhatRe = regexp.MustCompile(`<td data-testid="timeline-what"( lang="en")?>([^<]*)</td>`)

// timelineTexts returns the details column of an order page's timeline;
// an entry shown in English on another language's page starts with "[en] ".
func timelineTexts(body string) []string {
	var texts []string
	for _, m := range timelineWhatRe.FindAllStringSubmatch(body, -1) {
		text := html.UnescapeString(m[2])
		if m[1] != "" {
			text = "[en] " + text
		}
		texts = append(texts, text)
	}
	return texts
}

// The timeline is worded in the reader's language from each entry's code
// and parameters: a search that first cached the order (a gateway call),
// the verified notification that made it paid (Ksher's payment time in the
// account's zone), a refund, a failed call. An entry stored before codes
// existed still shows its English text, marked as English.
func TestOrderTimelineInThaiAndEnglish(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	const id = "QR-TIMELINE-1"
	if _, err := e.gatewayV3(t).Counter.QR(ctx, &gateway.QRParams{Mid: "mch46100", MerchantOrderID: id, Amount: 15050, Channel: "promptpay"}); err != nil {
		t.Fatal(err)
	}
	// Created: a search asks Ksher, which knows the order as not paid yet.
	if src, body := e.search(t, "mch46100", id); src != "live" {
		t.Fatalf("search: source %q\n%s", src, body)
	}
	hits, err := e.store.FindOrdersByAnyID(ctx, []string{"mch46100"}, id)
	if err != nil || len(hits) != 1 || hits[0].Status != models.StatusNotSure {
		t.Fatalf("cached = %+v, %v; want the order not paid yet", hits, err)
	}
	o := hits[0].Order

	// Paid: Ksher's signed notification.
	if err := e.sb.Pay(id, ""); err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"appid": "mch46100", "attach": "", "cash_fee": 15050, "cash_fee_type": "THB", "channel": "promptpay",
		"channel_order_no": "PP" + id, "fee_type": "THB", "ksher_order_no": o.KsherOrderNo, "mch_order_no": id,
		"nonce_str": "n0nce", "openid": "", "rate": "1.000000", "result": "SUCCESS", "time_end": "2026-01-01 10:00:00", "total_fee": 15050}
	sign, err := ksign.V3Sign(e.kkey, data)
	if err != nil {
		t.Fatal(err)
	}
	note, _ := json.Marshal(map[string]any{"code": 0, "msg": "ok", "message": "SUCCESS", "sign": sign, "version": "3.0.0", "data": data})
	req := httptest.NewRequest(http.MethodPost, "/hooks/ksher/v3/"+strconv.FormatInt(e.v3.ID, 10), bytes.NewReader(note))
	if resp, body := newClient(t, e.app).do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("notification = %d %s", resp.StatusCode, body)
	}
	// A refund the daily report brings, a failed call as the refresh
	// records it, and an entry from before codes existed.
	if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100", MchOrderNo: id, Source: "sync",
		Refunds: []models.RefundSeen{{MchRefundNo: "R-TIMELINE-1", Amount: 5000, At: time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddOrderEvent(ctx, o.ID, "refresh", "order_query: transport", false, 40*time.Millisecond,
		map[string]string{"op": "order_query", "error": "transport"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddOrderEvent(ctx, o.ID, "sync", "an entry stored in English only", true, 0, nil); err != nil {
		t.Fatal(err)
	}

	page := func(lang string) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/m/mch46100/orders/%d", o.ID), nil)
		req.Header.Set("Accept-Language", lang)
		resp, body := e.owner.do(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s detail = %d", lang, resp.StatusCode)
		}
		return body
	}
	tests := []struct {
		lang        string
		want        []string // each a substring of one entry, in the timeline's order
		latencyUnit string
	}{
		{"th-TH,th;q=0.9", []string{
			"คืนเงิน R-TIMELINE-1 จำนวน 50.00 THB สำเร็จ", // at its own time, before it was recorded
			"Ksher ตอบว่า: ยังไม่แน่ชัด (NOTSURE)",
			"สร้างคำสั่งซื้อ: ยังไม่แน่ชัด ยอด 150.50 THB",
			"การแจ้งเตือนจาก Ksher (ตรวจสอบลายเซ็นแล้ว): ชำระแล้ว (SUCCESS) · ชำระเงินแล้ว 150.50 THB เมื่อ 2026-01-01 10:00:00",
			"ในรายงานประจำวันของ Ksher · ชำระแล้ว → คืนเงินบางส่วน",
			"order_query ไม่สำเร็จ: เชื่อมต่อ Ksher ไม่ได้",
			"[en] an entry stored in English only",
		}, " มิลลิวินาที"},
		{"en-US,en;q=0.9", []string{
			"Refund R-TIMELINE-1 of 50.00 THB succeeded",
			"Ksher answered: Not sure yet (NOTSURE)",
			"Order created: Not sure yet, 150.50 THB",
			"Notification from Ksher, signature verified: Paid (SUCCESS) · Paid 150.50 THB at 2026-01-01 10:00:00",
			"In Ksher's daily report · Paid → Partially refunded",
			"order_query failed: Ksher could not be reached",
			"an entry stored in English only",
		}, " ms"},
	}
	for _, tt := range tests {
		t.Run(tt.lang[:2], func(t *testing.T) {
			body := page(tt.lang)
			texts := timelineTexts(body)
			all := strings.Join(texts, "\n")
			i := 0
			for _, want := range tt.want {
				for i < len(texts) && !strings.Contains(texts[i], want) {
					i++
				}
				if i == len(texts) {
					t.Errorf("timeline lacks %q (in order):\n%s", want, all)
					break
				}
			}
			// The English summaries stored by the writers are not shown.
			for _, stored := range []string{"search for " + id, "notification: paid", "cached as", "order_query: transport", "refund R-TIMELINE-1 of"} {
				if strings.Contains(all, stored) {
					t.Errorf("timeline shows the stored English summary %q:\n%s", stored, all)
				}
			}
			if !regexp.MustCompile(`<td class="num">\d+` + tt.latencyUnit + `</td>`).MatchString(body) {
				t.Errorf("no latency in%s", tt.latencyUnit)
			}
		})
	}
}

// An order cached from history (the sandbox seed, a daily report) tells its
// story at its own times: created, paid, notified, refunded, in that order
// and before the moment it was cached, in the reader's language; the refund
// is one line.
func TestOrderTimelineShowsKsherTimes(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	created := time.Date(2026, 11, 16, 11, 59, 9, 0, time.UTC)
	paid, refunded := created.Add(10*time.Minute), created.Add(72*time.Hour)
	o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: "mch46100", MchOrderNo: "HIST-1",
		Status: models.StatusPaid, Amount: 215500, Currency: "THB", Channel: "truemoney", CreatedAt: &created, PaidAt: &paid,
		Source: "seed", Refunds: []models.RefundSeen{{MchRefundNo: "HIST-RF-1", Amount: 215500, At: refunded}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.store.MarkSeededNotified(ctx, []models.OrderKey{{Mid: "mch46100", MchOrderNo: "HIST-1"}}); err != nil || n != 1 {
		t.Fatalf("marked %d, %v", n, err)
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"2026-11-16 18:59:09 Order created, 2,155.00 THB", "2026-11-16 19:09:09 Paid 2,155.00 THB by truemoney",
			"2026-11-16 19:09:09 Ksher's payment notification received", "2026-11-19 18:59:09 Refund HIST-RF-1 of 2,155.00 THB succeeded"}},
		{"th", []string{"2026-11-16 18:59:09 สร้างคำสั่งซื้อ ยอด 2,155.00 THB", "2026-11-16 19:09:09 ชำระเงิน 2,155.00 THB ผ่าน truemoney",
			"2026-11-16 19:09:09 ได้รับการแจ้งชำระเงินจาก Ksher", "2026-11-19 18:59:09 คืนเงิน HIST-RF-1 จำนวน 2,155.00 THB สำเร็จ"}},
	} {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/m/mch46100/orders/%d", o.ID), nil)
		req.Header.Set("Accept-Language", tt.lang)
		resp, body := e.owner.do(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s detail = %d", tt.lang, resp.StatusCode)
		}
		// The order's four moments, then the one entry recorded when it was
		// cached; the refund is not shown a second time as recorded.
		rows := timelineRows(body)
		if len(rows) != len(tt.want)+1 {
			t.Fatalf("%s timeline = %q, want %q and the caching entry", tt.lang, rows, tt.want)
		}
		if !strings.Contains(body, `<time datetime="2026-11-16T18:59:09+07:00">2026-11-16 18:59:09</time>`) {
			t.Errorf("%s: the creation has no machine datetime in the account's zone", tt.lang)
		}
		for i, want := range tt.want {
			if rows[i] != want {
				t.Errorf("%s timeline[%d] = %q, want %q", tt.lang, i, rows[i], want)
			}
		}
		if last := rows[len(rows)-1]; strings.Contains(last, "HIST-RF-1") || !strings.Contains(last, "2,155.00 THB") {
			t.Errorf("%s last entry = %q, want the caching entry", tt.lang, last)
		}
	}
}

var timelineRowRe = regexp.MustCompile(`(?s)<tr data-testid="timeline-row"[^>]*><td class="mono">(?:<time [^>]*>)?([^<]*)(?:</time>)?</td>.*?<td data-testid="timeline-what"[^>]*>([^<]*)</td>`)

// timelineRows returns each timeline row as "<local time> <what>".
func timelineRows(body string) []string {
	var out []string
	for _, m := range timelineRowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]+" "+m[2]))
	}
	return out
}
