package handlers

import (
	"net/url"
	"testing"

	"github.com/ksherdash/ksherdash/views"
)

func TestEventsURL(t *testing.T) {
	const action = "/m/M1/events"
	tests := []struct {
		name, valid, after, want string
	}{
		{"first page, no filter", "", "", action},
		{"filter", "yes", "", action + "?valid=yes"},
		{"next page", "", "c1", action + "?after=c1"},
		{"filter and next page", "no", "c1", action + "?after=c1&valid=no"},
		{"cursor cannot add parameters", "", "x&valid=yes#f", action + "?after=x%26valid%3Dyes%23f"},
		{"cursor with odd bytes", "", "a b+/=\x00\xff", action + "?after=a+b%2B%2F%3D%00%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventsURL(views.EventsVM{Action: action, Valid: tt.valid, TimeZone: "Asia/Bangkok"}, tt.after)
			if got != tt.want {
				t.Errorf("eventsURL = %q, want %q", got, tt.want)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if u.Path != action || u.Query().Get("after") != tt.after || u.Query().Get("valid") != tt.valid {
				t.Errorf("%q reads back as %s, after %q, valid %q", got, u.Path, u.Query().Get("after"), u.Query().Get("valid"))
			}
		})
	}
}
