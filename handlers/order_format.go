package handlers

import (
	"strconv"
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

// pageZone is zoneFor the request's mids.

// midZone is the zone mid's data is shown in: its account's (the

// configured zone for a mid the person does not hold or a zone this

// system does not know).

// accountZone is midZone for data that names only its account (a

// notification that did not verify): the zone of any of the account's mids

// the person holds, else fallback.

// configured is a moment about no one mid (one's sign-ins, the audit log,

// account pages before an account has a zone): shown in the configured

// TIME_ZONE.

// inZone is t in the named zone (an account's), or in the configured zone

// when the name is unknown.

// momentPtr is the moment of an optional time (zero when nil).

// locations caches time.LoadLocation, which reads the zone's file on every

// call; a zone's rules do not change while the process runs.

// accountsOf returns the accounts of the given mids among the person's.

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
