package views

// RefundPanelVM is an order's refund panel: the rules a refund of the
// order is held to, shown before the button, and the form.
type RefundPanelVM struct {
	Action   string // POST /m/{mid}/orders/{id}/refunds
	CSRF     string
	RefundNo string // the person's open refund number (hidden field)
	Currency string
	// Amounts: what may still be refunded, what is refunded, what refunds
	// not yet done hold.
	Remaining, Refunded, Held Money
	OrderAmount               Money
	Channel                   string
	// Partial: part of the order may be refunded; PartialBy names who
	// decides (channel, ksher_reported, not_reported, account_setting).
	Partial    bool
	PartialBy  string
	ReportedAt Moment
	// QueryByOrder: Ksher cannot be asked about the refund by its number.
	QueryByOrder bool
	// AfterDay: paid before today, Ksher takes the refund from the balance.
	AfterDay    bool
	NeedsLookup bool
	// The person's support limits.
	Cap         *Money
	SameDayOnly bool
	// StepUpValid: the password was confirmed in this session minutes ago.
	StepUpValid bool
	NeedsCode   bool
	// Blocked is the message id of why no refund can be asked for now.
	Blocked string
	// The form as typed, and its problems by field (worded).
	Amount, Reason string
	Errors         map[string]string
	// Done is the refund the last submission made or found by its number.
	Done *RefundRowVM
}

// RefundRowVM is one refund in the lists and on its page.
type RefundRowVM struct {
	ID            int64
	URL           string // its page
	Mid           string
	Status        string // pending, unknown, succeeded, failed
	Amount        Money
	OrderNo       string
	OrderURL      string
	Requester     string // email; "" for a refund Ksher reported
	Reason        string
	MchRefundNo   string
	KsherRefundNo string
	Origin        string // dashboard or ksher
	NeedsPerson   bool
	Created       Moment
	// PollURL: while the refund is pending, where htmx asks for its state.
	PollURL string
}

// RefundListVM is the refunds list of a mid or of every mid.
type RefundListVM struct {
	Action   string // the list's URL (the filter form's GET)
	Zone     string
	States   []Option
	Mids     []Option // /m/all only
	ShowMid  bool
	From, To string
	Errors   map[string]string
	Rows     []RefundRowVM
	NextURL  string // "" on the last page
	FirstURL string // "" on the first page
}

// RefundShowVM is one refund's page.
type RefundShowVM struct {
	Refund          RefundRowVM
	ChannelRefundNo string
	Zone            string
	Error           string // Ksher's words of a refusal, or what made it unknown
	ErrorCode       string
	Attempts        int
	Checks          int
	SentAt          Moment
	CheckedAt       Moment
	DecidedAt       Moment
	Resolution      string
	Raw             string // Ksher's last answer, redacted, pretty-printed
	Timeline        []OrderEventVM
}

// DriftRefundRow is an unknown refund on the drift page, with the form a
// person decides it with.
type DriftRefundRow struct {
	RefundRowVM
	UnknownSince Moment
	Checks       int
	ResolveURL   string // "" when the person may not refund on its mid
}
