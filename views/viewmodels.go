package views

import "github.com/a-h/templ"

// LayoutProps is what the page shell needs: nothing page-specific.
type LayoutProps struct {
	Title      string // already translated
	Nav        string // the active navigation item
	CSRF       string // token for hx-headers and plain forms
	Sandbox    bool   // show the sandbox banner
	User       *UserVM
	CurrentMid string
	Mids       []MidOption
	Flash      *Flash
	RequestID  string
	// Navigation to account-wide pages the person may open.
	CanManagePeople bool
	CanViewAudit    bool
	TimeZone        string // the account's zone, named in the footer
}

// UserVM is the signed-in person as the header shows them.
type UserVM struct {
	Email   string
	Name    string
	IsOwner bool
}

// MidOption is one entry of the mid switcher.
type MidOption struct {
	Mid   string
	Label string
	URL   string
}

// Flash is a one-line message above the page.
type Flash struct {
	Kind    string // "error" or "info"
	Message string
}

// LoginVM is the sign-in form.
type LoginVM struct {
	Email string
	Error string
	Next  string
}

// DashboardVM is a mid's home page (or /m/all, or the page of a person
// without any mid yet).
type DashboardVM struct {
	Name       string
	SignedInAt string // formatted in the account's zone, zone named
	Mid        string // "" when the person has no mid, "all" for every mid
	Mids       []MidRole
}

// MidRole is one of the person's mids with their role on it.
type MidRole struct {
	Mid   string
	Label string
	Role  string
	URL   string
}

// PasswordVM is the change-password form.
type PasswordVM struct {
	Forced bool // the one-time password must be replaced first
	Errors map[string]string
}

// ErrorVM is an error page or partial.
type ErrorVM struct {
	Status    int
	Message   string
	RequestID string
}

// csrfHeaders is the hx-headers value that sends the CSRF token with every
// htmx request.
func csrfHeaders(token string) string {
	s, err := templ.JSONString(map[string]string{"X-CSRF-Token": token})
	if err != nil {
		return "{}"
	}
	return s
}
