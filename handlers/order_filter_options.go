package handlers

import (
	"net/url"
	"slices"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// chooseOptions reads the orders filter's multiple choices from q (status,
// channel, and on /m/all the mids among mids) into f and canon, and lists
// every choice the form offers, the chosen ones selected, in vm. Unknown
// values are dropped; a channel the form does not list yet is kept when it
// looks like one.
func chooseOptions(q url.Values, f *models.OrderFilter, vm *views.OrderListVM, mids []string, canon url.Values) {
	for _, s := range models.OrderStatuses {
		on := slices.Contains(q["status"], s)
		vm.Statuses = append(vm.Statuses, views.Option{Value: s, Selected: on})
		if on {
			f.Statuses = append(f.Statuses, s)
			canon.Add("status", s)
		}
	}
	for _, ch := range q["channel"] {
		if channelRe.MatchString(ch) && !slices.Contains(f.Channels, ch) {
			f.Channels = append(f.Channels, ch)
			canon.Add("channel", ch)
		}
	}
	channels := slices.Clone(models.KnownChannels)
	for _, ch := range f.Channels {
		if !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	for _, ch := range channels {
		vm.Channels = append(vm.Channels, views.Option{Value: ch, Selected: slices.Contains(f.Channels, ch)})
	}
	if vm.All {
		var chosen []string
		for _, m := range q["mid"] {
			if slices.Contains(mids, m) && !slices.Contains(chosen, m) {
				chosen = append(chosen, m)
				canon.Add("mid", m)
			}
		}
		if len(chosen) > 0 {
			f.Mids = chosen
		}
		for _, m := range mids {
			vm.Mids = append(vm.Mids, views.Option{Value: m, Label: m, Selected: slices.Contains(chosen, m)})
		}
	}
}
