package handlers

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// MustPersonInput posts form (urlencoded) and returns personInput's reading.
func MustPersonInput(tb testing.TB, form string) models.PersonInput {
	tb.Helper()
	req := httptest.NewRequest(fiber.MethodPost, "/people", strings.NewReader(form))
	req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationForm)
	var in models.PersonInput
	MustServe(tb, "/*", req, func(c *fiber.Ctx) error {
		in = personInput(c)
		return nil
	})
	return in
}

// personInput takes every role_<mid> field, in the form's order, also for
// mids the form did not offer: models refuses those.
func TestPersonInput(t *testing.T) {
	tests := []struct {
		name, form string
		want       models.PersonInput
	}{
		{"empty", "", models.PersonInput{}},
		{"person without grants", "email=ann%40example.com&name=Ann+Lee&owner=1",
			models.PersonInput{Email: "ann@example.com", Name: "Ann Lee", Owner: true}},
		{"owner only when 1", "owner=on", models.PersonInput{}},
		{"grants in the form's order", "role_M2=refunder&cap_M2=1%2C000.50&sameday_M2=1&role_M1=viewer&sameday_M1=on",
			models.PersonInput{Grants: []models.GrantInput{
				{Mid: "M2", Role: "refunder", RefundCap: "1,000.50", SameDayOnly: true},
				{Mid: "M1", Role: "viewer"}}}},
		{"cap without a role is no grant", "cap_M3=5&sameday_M3=1", models.PersonInput{}},
		{"mid not offered is passed on", "role_M9=admin", models.PersonInput{Grants: []models.GrantInput{{Mid: "M9", Role: "admin"}}}},
		{"empty mid and role are passed on", "role_=&role_M1=", models.PersonInput{Grants: []models.GrantInput{{}, {Mid: "M1"}}}},
		{"odd bytes are passed on", "role_M%00%FF=%3Cb%3E&name=%27%3B+DROP+TABLE+users%3B--",
			models.PersonInput{Name: "'; DROP TABLE users;--", Grants: []models.GrantInput{{Mid: "M\x00\xff", Role: "<b>"}}}},
		{"prefix is case-sensitive", "ROLE_M1=viewer&xrole_M1=viewer", models.PersonInput{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustPersonInput(t, tt.form); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("personInput(%q) = %+v, want %+v", tt.form, got, tt.want)
			}
		})
	}
}
