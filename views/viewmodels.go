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
	CanManageAccounts bool
	CanManagePeople   bool
	CanViewAudit      bool
	// MidNav links the pages of the current mid the person may open.
	MidNav      []NavLink
	TimeZone    string // the zone the page shows times in, named in the footer
	SearchQuery string // what the header's search box holds (the search page's query)
}

// NavLink is one item of a navigation bar.
type NavLink struct {
	LabelID string // message id of the label
	URL     string
	Active  bool
}

// UserVM is the signed-in person as the header shows them.
type UserVM struct {
	Email string
	Name  string
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
	SignedInAt Moment // in the page's zone
	Mid        string // "" when the person has no mid, "all" for every mid
	Mids       []MidRole
	Stats      *DashboardStats // the mid's last seven days (nil without a mid)
	Recent     []OrderRowVM    // its latest orders
	OrdersURL  string
}

// DashboardStats are a mid's figures since a local day.
type DashboardStats struct {
	Since     Moment // the start of the first local day counted, in the zone the days are counted in
	Paid      int64
	PaidTotal []Money // per currency
	Refunded  []Money // per currency
	Open      int64
	Failed    int64
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

// AccountListVM is the merchant accounts page (owners only).
type AccountListVM struct {
	Accounts []AccountRowVM
}

// AccountRowVM is one merchant account in the list: never its secrets, only
// their fingerprint.
type AccountRowVM struct {
	ID             int64
	URL            string
	Name           string
	APIKind        string // "v3" or "vip"
	BaseURL        string
	GatewayBaseURL string
	Sandbox        bool
	Mids           []AccountMidVM
	Fingerprint    string
	UpdatedAt      Moment // in the account's zone
}

// AccountMidVM is one mid of an account: its id and name.
type AccountMidVM struct {
	Mid  string
	Name string
}

// AccountFormVM is the create or edit form of a merchant account. Secrets
// are never part of it: only which ones are stored, and their fingerprint.
type AccountFormVM struct {
	ID                    int64  // 0 for a new account
	Action                string // where the form posts
	Name                  string
	APIKind               string
	BaseURL               string
	GatewayBaseURL        string
	DefaultBaseURL        string // shown as placeholders
	DefaultGatewayBaseURL string
	Sandbox               bool
	TimeZone              string
	TimeZones             []string // suggestions
	MidsText              string   // one "mid name" per line
	KeyMids               []AccountKeyVM
	HasKsherKey           bool     // a Ksher public key override is stored
	HasToken              bool     // a vip token is stored
	CredentialsUnreadable bool     // stored credentials do not open: enter them again
	RemovedMids           []string // mids the posted form drops: their people lose access, so confirm
	Fingerprint           string
	UpdatedAt             Moment            // zero for a new account
	Errors                map[string]string // field -> translated message
	Test                  *AccountTestVM    // the last "Test connection" answer
	// PartialRefunds: a vip account's own setting (nil otherwise), saved
	// by its own form at PartialRefundsURL.
	PartialRefunds    *bool
	PartialRefundsURL string
}

// AccountKeyVM is the private-key field of one v3 mid.
type AccountKeyVM struct {
	Mid    string
	Stored bool // a key is stored: leaving the field empty keeps it
}

// AccountTestVM is the answer of "Test connection".
type AccountTestVM struct {
	OK      bool
	At      Moment // in the account's zone
	Error   string // the client could not be built (configuration), translated
	Results []AccountTestRowVM
}

// AccountTestRowVM is the answer for one mid.
type AccountTestRowVM struct {
	Mid        string
	OK         bool
	Summary    string // on success: what Ksher answered, translated
	Kind       string // on failure: the gateway error kind (data attribute)
	KindLabel  string // translated kind
	Code       string // Ksher's code
	Message    string // Ksher's message
	HTTPStatus int
	LatencyMS  int64
}

// AuditVM is the audit log page: filters as typed, one page of entries and
// the link to the next (older) page.
type AuditVM struct {
	Who       string
	Action    string
	Mid       string
	From      string // YYYY-MM-DD, a local day in TimeZone
	To        string
	Actions   []AuditOption
	Mids      []AuditOption
	Errors    map[string]string // field -> translated message
	Rows      []AuditRowVM
	OlderURL  string // "" on the last page
	NewestURL string // set when not on the first page
	TimeZone  string
}

// AuditOption is one choice of a filter's select.
type AuditOption struct {
	Value string
	Label string
}

// AuditRowVM is one audit entry as shown.
type AuditRowVM struct {
	ID            int64
	At            Moment // in TimeZone
	Actor         string
	Action        string
	ActionLabel   string
	Target        string
	Mid           string
	IP            string
	UserAgent     string // shortened
	UserAgentFull string
	Details       string // JSON
	DetailsShort  string // its start, when it is long (the rest folds away)
}
