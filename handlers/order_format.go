package handlers

import (
	"strconv"
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Times: each mid's data is shown in its account's zone (midZone), row by
// row on /m/all; a page names one zone (zoneFor), the one its days are
// counted in, and a row in another zone names its own (views.Moment.In).

// zoneFor returns the zone a page about these mids (of the person's
// access) names and counts its days in: their accounts' own zone when they
// agree (Asia/Bangkok for most), else the configured default. The zones
// come with the access (one query per request).
func (h *Handler) zoneFor(access models.Access, mids ...string) *time.Location {
	var zone *time.Location
	for _, mid := range mids {
		if access.Held(mid) == nil {
			continue
		}
		loc := h.midZone(access, mid)
		if zone != nil && loc.String() != zone.String() {
			return h.cfg.Location
		}
		zone = loc
	}
	if zone == nil {
		return h.cfg.Location
	}
	return zone
}

// pageZone is zoneFor the request's mids.
func (h *Handler) pageZone(sc *Scope) *time.Location {
	return h.zoneFor(sc.Access, sc.Mids()...)
}

// midZone is the zone mid's data is shown in: its account's (the
// configured zone for a mid the person does not hold or a zone this
// system does not know).
func (h *Handler) midZone(access models.Access, mid string) *time.Location {
	if a := access.Held(mid); a != nil {
		if loc := location(a.TimeZone); loc != nil {
			return loc
		}
	}
	return h.cfg.Location
}

// accountZone is midZone for data that names only its account (a
// notification that did not verify): the zone of any of the account's mids
// the person holds, else fallback.
func (h *Handler) accountZone(access models.Access, accountID int64, fallback *time.Location) *time.Location {
	for _, a := range access.Mids {
		if a.Mid.AccountID == accountID {
			return h.midZone(access, a.Mid.Mid)
		}
	}
	return fallback
}

// configured is a moment about no one mid (one's sign-ins, the audit log,
// account pages before an account has a zone): shown in the configured
// TIME_ZONE.
func (h *Handler) configured(t time.Time) views.Moment {
	return views.Moment{T: t, Zone: h.cfg.Location}
}

// inZone is t in the named zone (an account's), or in the configured zone
// when the name is unknown.
func (h *Handler) inZone(t time.Time, zone string) views.Moment {
	if loc := location(zone); loc != nil {
		return views.Moment{T: t, Zone: loc}
	}
	return h.configured(t)
}

// momentPtr is the moment of an optional time (zero when nil).
func momentPtr(t *time.Time, loc *time.Location) views.Moment {
	if t == nil {
		return views.Moment{Zone: loc}
	}
	return views.Moment{T: *t, Zone: loc}
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
func accountsOf(access models.Access, mids []string) []int64 {
	var ids []int64
	for _, mid := range mids {
		if a := access.Held(mid); a != nil {
			ids = append(ids, a.Mid.AccountID)
		}
	}
	return ids
}

// orderURL is an order's detail page, always under its own mid.
func orderURL(o *models.Order) string {
	return "/m/" + o.Mid + "/orders/" + strconv.FormatInt(o.ID, 10)
}

// orderRow is an order in a list; loc is its mid's zone (midZone).
func orderRow(o *models.Order, loc *time.Location) views.OrderRowVM {
	return views.OrderRowVM{ID: o.ID, URL: orderURL(o), Mid: o.Mid, MchOrderNo: o.MchOrderNo, KsherOrderNo: o.KsherOrderNo,
		ChannelOrderNo: o.ChannelOrderNo, Status: o.Status, Channel: o.Channel,
		Amount:   views.Money{Minor: o.Amount, Currency: o.Currency},
		Refunded: views.Money{Minor: o.Refunded, Currency: o.Currency}, CreatedAt: views.Moment{T: o.CreatedAt, Zone: loc}}
}
