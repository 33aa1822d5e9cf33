package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// maxReportLimit is the page size cap of the finance reports ("limit < 50"
// in the docs); larger limits are lowered to it rather than refused
// (UNCONFIRMED).
const maxReportLimit = 50

// vipFinanceRoute picks the finance report for the path after
// /api/v1/finance/settlements/.
func (s *Sandbox) vipFinanceRoute(parts []string) (string, func(q *vipReq) *reply) {
	switch {
	case len(parts) == 1 && parts[0] == "channels":
		return "vip.finance.channels", s.vipChannels
	case len(parts) == 1 && parts[0] == "settlement_order":
		return "vip.finance.settlement_order", s.vipSettlementOrder
	case len(parts) == 2 && parts[0] == "order":
		day := parts[1]
		return "vip.finance.transactions", func(q *vipReq) *reply { return s.vipTransactions(q, day) }
	case len(parts) == 1:
		day := parts[0]
		return "vip.finance.summary", func(q *vipReq) *reply { return s.vipSummary(q, day) }
	}
	return "", nil
}

// financeReply is the top level of finance answers (B.4.4): error_code,
// error_message, data, timestamp, mid (number only) and signature. How
// Ksher signs the nested data is UNCONFIRMED; the sandbox signs it the
// way ksign renders nested values (Python str() of the dict).
func (s *Sandbox) financeReply(q *vipReq, mid string, data map[string]any) *reply {
	return s.signed(q, map[string]any{
		"error_code": "SUCCESS", "error_message": "Successful", "data": data,
		"timestamp": q.ts(), "mid": mchNumber(mid),
	})
}

// financeMid validates the mid of a finance call. A mid the token may not
// use is answered with HTTP 200 and error_code UNKNOWN (B.4.4).
func (s *Sandbox) financeMid(q *vipReq, required bool, errs map[string]string) (string, *reply) {
	raw := q.str("mid")
	if raw == "" {
		if required {
			errs["mid"] = msgMissing
		}
		return "", nil
	}
	mid, ok := s.normMid(raw)
	if !ok {
		return "", s.signed(q, map[string]any{
			"error_code": "UNKNOWN", "error_message": "NOT allowed mid " + mchNumber(raw),
			"data": map[string]any{}, "timestamp": q.ts(), "mid": mchNumber(raw),
		})
	}
	return mid, nil
}

// page reads offset and limit.
func page(q *vipReq, errs map[string]string) (offset, limit int) {
	for _, k := range []string{"offset", "limit"} {
		n, ok := q.int(k)
		switch {
		case q.f[k] == nil:
			errs[k] = msgMissing
		case !ok || n < 0:
			errs[k] = msgInt
		case k == "offset":
			offset = int(n)
		default:
			limit = int(min(n, maxReportLimit))
		}
	}
	return offset, limit
}

func pageRows(rows []map[string]any, offset, limit int) []map[string]any {
	if offset >= len(rows) {
		return []map[string]any{}
	}
	return rows[offset:min(len(rows), offset+limit)]
}

func (s *Sandbox) vipChannels(q *vipReq) *reply {
	errs := map[string]string{}
	if q.ts() == "" {
		errs["timestamp"] = msgMissing
	}
	mid, rep := s.financeMid(q, true, errs)
	if rep != nil {
		return rep
	}
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	return s.financeReply(q, mid, map[string]any{"channels": vipReportChannel})
}

func reportDay(s string) (time.Time, bool) {
	if len(s) != 8 {
		return time.Time{}, false
	}
	return parseDay(s)
}

func (s *Sandbox) vipTransactions(q *vipReq, dayText string) *reply {
	errs := map[string]string{}
	if q.ts() == "" {
		errs["timestamp"] = msgMissing
	}
	day, ok := reportDay(dayText)
	if !ok {
		return s.flaskError(q.base, http.StatusNotFound, "The requested URL was not found on the server.")
	}
	mid, rep := s.financeMid(q, true, errs)
	if rep != nil {
		return rep
	}
	offset, limit := page(q, errs)
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	ch := strings.ToLower(q.str("channel"))
	s.mu.Lock()
	rows := []map[string]any{}
	for _, t := range s.transactions(mid) {
		if dayOf(t.at).Equal(day) && (ch == "" || t.o.Channel == ch) {
			rows = append(rows, vipTxnRow(t))
		}
	}
	s.mu.Unlock()
	return s.financeReply(q, mid, map[string]any{"data": pageRows(rows, offset, limit), "total": len(rows)})
}

func (s *Sandbox) vipSummary(q *vipReq, dayText string) *reply {
	errs := map[string]string{}
	if q.ts() == "" {
		errs["timestamp"] = msgMissing
	}
	day, ok := reportDay(dayText)
	if !ok {
		return s.flaskError(q.base, http.StatusNotFound, "The requested URL was not found on the server.")
	}
	ch := strings.ToLower(q.str("channel"))
	if ch == "" {
		errs["channel"] = msgMissing
	}
	mid, rep := s.financeMid(q, true, errs)
	if rep != nil {
		return rep
	}
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	s.mu.Lock()
	// A day without a settlement on this channel (nothing paid or refunded,
	// or the day is not over) answers zero amounts and no reference_id: a
	// reference names a settlement record, which settlement_order must then
	// find (Ksher's answer for such a day is UNCONFIRMED, API.md B.4.4).
	st := &Settlement{Mid: mid, Channel: ch, Currency: "THB", Day: day, Start: day, End: day}
	for _, c := range s.settlements(mid, day, day) {
		if c.Channel == ch {
			st = c
		}
	}
	s.mu.Unlock()
	return s.financeReply(q, mid, st.vipSummary())
}

func (s *Sandbox) vipSettlementOrder(q *vipReq) *reply {
	errs := map[string]string{}
	if q.ts() == "" {
		errs["timestamp"] = msgMissing
	}
	ref := q.str("reference_id")
	if ref == "" {
		errs["reference_id"] = msgMissing
	}
	mid, rep := s.financeMid(q, false, errs)
	if rep != nil {
		return rep
	}
	offset, limit := page(q, errs)
	if len(errs) > 0 {
		return s.badRequest(q.base, errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mids := s.cfg.Mids
	if mid != "" {
		mids = []string{mid}
	}
	for _, m := range mids {
		for _, st := range s.allSettlements(m) {
			if st.ReferenceID != ref {
				continue
			}
			rows := []map[string]any{}
			for _, t := range s.transactions(m) {
				if d := dayOf(t.at); t.o.Channel == st.Channel && !d.Before(st.Start) && !d.After(st.End) {
					rows = append(rows, vipTxnRow(t))
				}
			}
			data := st.vipSummary()
			data["data"], data["total"] = pageRows(rows, offset, limit), len(rows)
			return s.financeReply(q, m, data)
		}
	}
	return s.flaskError(q.base, http.StatusNotFound, "Not Found: settlement "+ref+" does not exist.")
}
