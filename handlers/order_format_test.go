package handlers

import (
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// Each mid's data is in its own account's zone; a page names its mids'
// common zone, or the configured one when they differ (a row in another
// zone then names its own); data naming only its account (a notification
// that did not verify) takes that account's zone.
func TestZones(t *testing.T) {
	h := &Handler{cfg: Config{Location: mustZone(t, "Asia/Bangkok")}}
	acc := models.Access{Mids: []models.MidAccess{
		{Mid: models.Mid{Mid: "mchA", AccountID: 1}, TimeZone: "Asia/Jakarta"},
		{Mid: models.Mid{Mid: "mchB", AccountID: 1}, TimeZone: "Asia/Jakarta"},
		{Mid: models.Mid{Mid: "mchS", AccountID: 2}, TimeZone: "Asia/Singapore"},
		{Mid: models.Mid{Mid: "mchX", AccountID: 3}, TimeZone: "Mars/Olympus_Mons"},
	}}
	for _, tt := range []struct {
		name string
		got  *time.Location
		want string
	}{
		{"a mid", h.midZone(acc, "mchS"), "Asia/Singapore"},
		{"a mid not held", h.midZone(acc, "mchZ"), "Asia/Bangkok"},
		{"a zone unknown here", h.midZone(acc, "mchX"), "Asia/Bangkok"},
		{"page of one mid", h.zoneFor(acc, "mchA"), "Asia/Jakarta"},
		{"page of one account's mids", h.zoneFor(acc, "mchA", "mchB"), "Asia/Jakarta"},
		{"page of two accounts in two zones", h.zoneFor(acc, "mchA", "mchS"), "Asia/Bangkok"},
		{"page of no mid", h.zoneFor(acc), "Asia/Bangkok"},
		{"an account", h.accountZone(acc, 2, time.UTC), "Asia/Singapore"},
		{"an account not held", h.accountZone(acc, 9, time.UTC), "UTC"},
		{"a notification of a mid", h.eventZone(acc, models.NotificationRow{Notification: models.Notification{Mid: "mchA"}}, time.UTC), "Asia/Jakarta"},
		{"a notification of an account", h.eventZone(acc, models.NotificationRow{Notification: models.Notification{AccountID: ptr(int64(2))}}, time.UTC), "Asia/Singapore"},
		{"a notification of nobody known", h.eventZone(acc, models.NotificationRow{}, time.UTC), "UTC"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.String() != tt.want {
				t.Errorf("zone = %s, want %s", tt.got, tt.want)
			}
		})
	}
}

func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}
