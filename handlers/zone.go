package handlers

import (
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

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

func (h *Handler) pageZone(sc *Scope) *time.Location {
	return h.zoneFor(sc.Access, sc.Mids()...)
}

func (h *Handler) midZone(access models.Access, mid string) *time.Location {
	if a := access.Held(mid); a != nil {
		if loc := location(a.TimeZone); loc != nil {
			return loc
		}
	}
	return h.cfg.Location
}

func (h *Handler) accountZone(access models.Access, accountID int64, fallback *time.Location) *time.Location {
	for _, a := range access.Mids {
		if a.Mid.AccountID == accountID {
			return h.midZone(access, a.Mid.Mid)
		}
	}
	return fallback
}

func (h *Handler) configured(t time.Time) views.Moment {
	return views.Moment{T: t, Zone: h.cfg.Location}
}

func (h *Handler) inZone(t time.Time, zone string) views.Moment {
	if loc := location(zone); loc != nil {
		return views.Moment{T: t, Zone: loc}
	}
	return h.configured(t)
}

func momentPtr(t *time.Time, loc *time.Location) views.Moment {
	if t == nil {
		return views.Moment{Zone: loc}
	}
	return views.Moment{T: *t, Zone: loc}
}

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

func accountsOf(access models.Access, mids []string) []int64 {
	var ids []int64
	for _, mid := range mids {
		if a := access.Held(mid); a != nil {
			ids = append(ids, a.Mid.AccountID)
		}
	}
	return ids
}
