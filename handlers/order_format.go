package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// zoneFor returns the zone in which to show the orders of these mids (of
// the person's access): their accounts' own zone when they agree
// (Asia/Bangkok for most), else the configured default. Pages name the zone
// they use. The zones come with the access (one query per request).
func (h *Handler) zoneFor(access []models.MidAccess, mids ...string) *time.Location {
	zone := ""
	on := make(map[string]bool, len(mids))
	for _, m := range mids {
		on[m] = true
	}
	for _, a := range access {
		if !on[a.Mid.Mid] {
			continue
		}
		if zone != "" && a.TimeZone != zone {
			return h.cfg.Location
		}
		zone = a.TimeZone
	}
	if loc := location(zone); loc != nil {
		return loc
	}
	return h.cfg.Location
}

// locations caches time.LoadLocation, which reads the zone's file on every
// call; a zone's rules do not change while the process runs.
var locations sync.Map // name -> *time.Location

func location(name string) *time.Location {
	if name == "" {
		return nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, loc)
	return loc
}

// accountsOf returns the accounts of the given mids among the person's.
func accountsOf(access []models.MidAccess, mids []string) []int64 {
	var ids []int64
	for _, a := range access {
		for _, m := range mids {
			if a.Mid.Mid == m {
				ids = append(ids, a.Mid.AccountID)
			}
		}
	}
	return ids
}

// localTime shows t in loc, to the second (the zone is named by the page).
func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// localTimeZ shows t in loc with the zone named: "2026-11-22 10:04:05
// (Asia/Bangkok, +07)".
func localTimeZ(t time.Time, loc *time.Location) string {
	lt := t.In(loc)
	return lt.Format("2006-01-02 15:04:05") + " (" + loc.String() + ", " + utcOffset(lt) + ")"
}

// utcOffset is t's offset from UTC: "+07", or with its minutes where the
// zone has them ("+06:30" in Asia/Yangon, "+05:45" in Asia/Kathmandu).
func utcOffset(t time.Time) string {
	if _, off := t.Zone(); off%3600 != 0 {
		return t.Format("-07:00")
	}
	return t.Format("-07")
}

func localTimePtr(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return localTimeZ(*t, loc)
}

// orderURL is an order's detail page, always under its own mid.
func orderURL(o *models.Order) string {
	return "/m/" + o.Mid + "/orders/" + strconv.FormatInt(o.ID, 10)
}

func orderRow(o *models.Order, loc *time.Location) views.OrderRowVM {
	return views.OrderRowVM{ID: o.ID, URL: orderURL(o), Mid: o.Mid, MchOrderNo: o.MchOrderNo, KsherOrderNo: o.KsherOrderNo,
		ChannelOrderNo: o.ChannelOrderNo, Status: o.Status, Channel: o.Channel,
		Amount:   views.Money{Minor: o.Amount, Currency: o.Currency},
		Refunded: views.Money{Minor: o.Refunded, Currency: o.Currency}, CreatedAt: localTime(o.CreatedAt, loc)}
}

// secretKeys are redacted from raw gateway answers before display. Ksher's
// answers hold no secrets, only its own signature; this is defence in depth.
var secretKeys = map[string]bool{"sign": true, "signature": true, "token": true}

// prettyRaw pretty-prints a stored gateway answer with every value under a
// key named sign, signature or token (any case, any depth) redacted.
func prettyRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redact(v)); err != nil {
		return ""
	}
	return strings.TrimSpace(buf.String())
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretKeys[strings.ToLower(k)] {
				t[k] = "[redacted]"
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redact(x)
		}
	}
	return v
}
