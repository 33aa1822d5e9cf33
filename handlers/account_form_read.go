package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

var timeZones = []string{"Asia/Bangkok", "Asia/Singapore", "Asia/Kuala_Lumpur", "Asia/Jakarta", "Asia/Ho_Chi_Minh",
	"Asia/Manila", "Asia/Hong_Kong", "Asia/Shanghai", "Asia/Tokyo", "Asia/Yangon", "Asia/Phnom_Penh", "Asia/Vientiane", "UTC"}

type accountForm struct {
	Name, APIKind, BaseURL, GatewayBaseURL, TimeZone, MidsText string
	Sandbox                                                    bool
	Mids                                                       []models.Mid
	Secrets                                                    models.CredentialsUpdate
}

func readAccountForm(c *fiber.Ctx, prev *models.MerchantAccount) *accountForm {
	f := &accountForm{
		Name:           strings.TrimSpace(c.FormValue("name")),
		APIKind:        c.FormValue("api_kind"),
		BaseURL:        cleanURL(c.FormValue("base_url")),
		GatewayBaseURL: cleanURL(c.FormValue("gateway_base_url")),
		TimeZone:       strings.TrimSpace(c.FormValue("time_zone")),
		MidsText:       c.FormValue("mids"),
		Sandbox:        c.FormValue("sandbox") != "",
	}
	var stored []models.Mid
	if prev != nil {
		stored = prev.Mids
	}
	f.Mids = parseMids(f.MidsText, stored)
	switch f.APIKind {
	case models.APIv3:
		// Ksher's production hosts, unless the owner points elsewhere.
		if f.BaseURL == "" {
			f.BaseURL = gateway.DefaultV3BaseURL
		}
		if f.GatewayBaseURL == "" {
			f.GatewayBaseURL = gateway.DefaultV3GatewayBaseURL
		}
		f.Secrets = models.CredentialsUpdate{
			SharedPrivateKey:    c.FormValue("private_key"),
			PrivateKeys:         map[string]string{},
			KsherPublicKey:      c.FormValue("ksher_public_key"),
			ClearKsherPublicKey: c.FormValue("clear_ksher_public_key") != "",
		}
		for _, m := range f.Mids {
			if k := c.FormValue("key_" + m.Mid); k != "" {
				f.Secrets.PrivateKeys[m.Mid] = k
			}
		}
	case models.APIVIP:
		f.GatewayBaseURL = "" // one host serves everything
		f.Secrets = models.CredentialsUpdate{Token: c.FormValue("token")}
	}
	return f
}

func cleanURL(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "/")
}

func parseMids(text string, stored []models.Mid) []models.Mid {
	var mids []models.Mid
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m := models.Mid{Mid: fields[0], Name: strings.Join(fields[1:], " ")}
		for _, s := range stored {
			if s.Mid == m.Mid {
				m.Currency = s.Currency
			}
		}
		mids = append(mids, m)
	}
	return mids
}

func midsText(mids []models.Mid) string {
	var b strings.Builder
	for _, m := range mids {
		b.WriteString(m.Mid)
		if m.Name != "" {
			b.WriteString(" " + m.Name)
		}
		b.WriteString("\n")
	}
	return b.String()
}
