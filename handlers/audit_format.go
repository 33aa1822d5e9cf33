package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

func localDay(s string, loc *time.Location, days int) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return nil, err
	}
	t := d.AddDate(0, 0, days).UTC()
	return &t, nil
}

func auditURL(vm views.AuditVM, before int64) string {
	q := url.Values{}
	for k, v := range map[string]string{"who": vm.Who, "action": vm.Action, "mid": vm.Mid, "from": vm.From, "to": vm.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return "/audit"
	}
	return "/audit?" + q.Encode()
}

func (h *Handler) auditRow(c *fiber.Ctx, e models.AuditEntry) views.AuditRowVM {
	details := string(e.Details)
	if details == "{}" || details == "null" {
		details = ""
	}
	label := h.T(c, "audit.action."+e.Action)
	if label == "audit.action."+e.Action {
		label = e.Action // an action newer than the catalogs
	}
	short := ""
	if utf8.RuneCountInString(details) > 60 {
		short = string([]rune(details)[:48]) + "…"
	}
	return views.AuditRowVM{ID: e.ID, At: h.configured(e.CreatedAt), Actor: e.ActorEmail, Action: e.Action,
		ActionLabel: label, Target: e.Target, Mid: e.Mid, IP: e.IP,
		UserAgent: shortUserAgent(e.UserAgent), UserAgentFull: e.UserAgent, Details: details, DetailsShort: short}
}

func shortUserAgent(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Version/", "Safari"},
	} {
		if i := strings.Index(ua, b.token); i >= 0 {
			v := ua[i+len(b.token):]
			if j := strings.IndexAny(v, ". ;)"); j >= 0 {
				v = v[:j]
			}
			if len(v) > 6 || strings.Trim(v, "0123456789") != "" {
				v = "" // a major version is a few digits; anything else is not worth showing
			}
			browser = strings.TrimSpace(b.name + " " + v)
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	if browser != "" && system != "" {
		return browser + " · " + system
	}
	const max = 40
	if utf8.RuneCountInString(ua) <= max {
		return ua
	}
	return string([]rune(ua)[:max]) + "…"
}
