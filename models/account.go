package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// API kinds of a merchant account.
const (
	APIv3  = "v3"  // KsherPay: RSA signatures, one appid and key per mid
	APIVIP = "vip" // *.vip.ksher.net gateway: one HMAC token, mid parameter
)

// MerchantAccount is one set of Ksher credentials with its mids.
type MerchantAccount struct {
	ID                     int64
	Name                   string
	APIKind                string
	BaseURL                string
	GatewayBaseURL         string // v3 only: where gateway_pay lives (gateway.ksher.com)
	Sandbox                bool
	TimeZone               string
	Credentials            []byte `json:"-"` // sealed
	CredentialsFingerprint string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Mids                   []Mid `gorm:"foreignKey:AccountID"`
}

// Mid is a Ksher sub-merchant (for v3, its appid).
type Mid struct {
	Mid       string `gorm:"primaryKey"`
	AccountID int64
	Name      string
	Currency  string
	CreatedAt time.Time
}

// Label is how the mid is shown: its name and number.
func (m Mid) Label() string {
	if m.Name == "" {
		return m.Mid
	}
	return m.Name + " · " + m.Mid
}

// Credentials are the secrets of an account. They are sealed at rest, never
// rendered back and never logged (LogValue, String).
type Credentials struct {
	// v3: per mid, the merchant's private key (PKCS#1 or PKCS#8 PEM). The mid
	// is the appid.
	PrivateKeys map[string]string `json:"private_keys,omitempty"`
	// v3: Ksher's public key override (PEM); empty = Ksher's published key.
	KsherPublicKey string `json:"ksher_public_key,omitempty"`
	// vip: the HMAC token.
	Token string `json:"token,omitempty"`
}

// LogValue keeps secrets out of logs.
func (c Credentials) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps secrets out of %v.
func (c Credentials) String() string { return "[redacted]" }

// GoString keeps secrets out of %#v.
func (c Credentials) GoString() string { return "[redacted]" }

// Fingerprint identifies credentials without revealing them: the first 12
// hex characters of the SHA-256 of their canonical JSON.
func (c Credentials) Fingerprint() string {
	b, _ := json.Marshal(c) // map keys are sorted by encoding/json
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// AccountInput is what the account form submits.
type AccountInput struct {
	Name           string
	APIKind        string
	BaseURL        string
	GatewayBaseURL string
	Sandbox        bool
	TimeZone       string
	Mids           []Mid        // wanted mids (Mid, Name, Currency)
	Credentials    *Credentials // nil = keep the stored ones
}

var midRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Validate returns a message per invalid field.
func (in *AccountInput) Validate() map[string]string {
	errs := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		errs["name"] = "Enter a name."
	}
	if in.APIKind != APIv3 && in.APIKind != APIVIP {
		errs["api_kind"] = "Choose v3 or vip."
	}
	for _, f := range []struct{ name, v string }{{"base_url", in.BaseURL}, {"gateway_base_url", in.GatewayBaseURL}} {
		if f.v == "" && f.name == "gateway_base_url" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs[f.name] = "Enter an absolute http(s) URL."
		}
	}
	if in.TimeZone == "" {
		in.TimeZone = "Asia/Bangkok"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		errs["time_zone"] = "Unknown time zone."
	}
	if len(in.Mids) == 0 {
		errs["mids"] = "Add at least one mid."
	}
	seen := map[string]bool{}
	for _, m := range in.Mids {
		if !midRe.MatchString(m.Mid) {
			errs["mids"] = fmt.Sprintf("%q is not a mid (letters, digits, - and _, at most 32).", m.Mid)
		} else if seen[m.Mid] {
			errs["mids"] = fmt.Sprintf("%s is listed twice.", m.Mid)
		}
		seen[m.Mid] = true
	}
	if c := in.Credentials; c != nil {
		switch in.APIKind {
		case APIVIP:
			if strings.TrimSpace(c.Token) == "" {
				errs["token"] = "Enter the API token."
			}
		case APIv3:
			for _, m := range in.Mids {
				if strings.TrimSpace(c.PrivateKeys[m.Mid]) == "" {
					errs["private_keys"] = "Enter the private key of " + m.Mid + "."
				}
			}
		}
	}
	return errs
}

func firstError(errs map[string]string, order ...string) error {
	for _, k := range order {
		if m, ok := errs[k]; ok {
			return Errorf(EINVALID, "%s", m)
		}
	}
	return nil
}

// SaveAccount creates (id 0) or updates an account with its mids and, when
// given, new credentials. Mids belonging to another account are refused.
func (s *Store) SaveAccount(ctx context.Context, id int64, in AccountInput) (*MerchantAccount, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return nil, firstError(errs, "name", "api_kind", "base_url", "gateway_base_url", "time_zone", "mids", "token", "private_keys")
	}
	a := &MerchantAccount{ID: id}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if id != 0 {
			if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(a, id).Error; err != nil {
				return notFoundOr(err, "Account")
			}
		}
		a.Name, a.APIKind, a.BaseURL, a.GatewayBaseURL = in.Name, in.APIKind, in.BaseURL, in.GatewayBaseURL
		a.Sandbox, a.TimeZone, a.UpdatedAt = in.Sandbox, in.TimeZone, s.now()
		if id == 0 {
			a.CreatedAt = s.now()
			if err := tx.Omit("Mids").Create(a).Error; err != nil {
				return notFoundOr(err, "An account with this name")
			}
		}
		if in.Credentials != nil {
			plain, err := json.Marshal(in.Credentials)
			if err != nil {
				return err
			}
			if a.Credentials, err = s.seal(plain, []byte(strconv.FormatInt(a.ID, 10))); err != nil {
				return err
			}
			a.CredentialsFingerprint = in.Credentials.Fingerprint()
		}
		if err := tx.Omit("Mids", "CreatedAt").Save(a).Error; err != nil {
			return notFoundOr(err, "An account with this name")
		}
		return s.syncMids(tx, a.ID, in.Mids)
	})
	if err != nil {
		return nil, fmt.Errorf("store: save account: %w", err)
	}
	return s.Account(ctx, a.ID)
}

func (s *Store) syncMids(tx *gorm.DB, accountID int64, want []Mid) error {
	keep := make([]string, 0, len(want))
	for _, m := range want {
		keep = append(keep, m.Mid)
		var other Mid
		err := tx.Where("mid = ?", m.Mid).Take(&other).Error
		if err == nil && other.AccountID != accountID {
			return Errorf(ECONFLICT, "Mid %s belongs to another account.", m.Mid)
		}
		if m.Currency == "" {
			m.Currency = "THB"
		}
		row := Mid{Mid: m.Mid, AccountID: accountID, Name: m.Name, Currency: m.Currency, CreatedAt: s.now()}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "mid"}},
			DoUpdates: clause.AssignmentColumns([]string{"name", "currency"})}).Create(&row).Error; err != nil {
			return err
		}
	}
	return tx.Where("account_id = ? AND mid NOT IN ?", accountID, keep).Delete(&Mid{}).Error
}

// Account returns one account with its mids, or ENOTFOUND.
func (s *Store) Account(ctx context.Context, id int64) (*MerchantAccount, error) {
	var a MerchantAccount
	err := s.db.WithContext(ctx).Preload("Mids", func(db *gorm.DB) *gorm.DB { return db.Order("mid") }).Take(&a, id).Error
	if err != nil {
		return nil, notFoundOr(err, "Account")
	}
	return &a, nil
}

// Accounts returns every account with its mids, by name.
func (s *Store) Accounts(ctx context.Context) ([]MerchantAccount, error) {
	var as []MerchantAccount
	err := s.db.WithContext(ctx).Preload("Mids", func(db *gorm.DB) *gorm.DB { return db.Order("mid") }).Order("lower(name)").Find(&as).Error
	return as, err
}

// AccountCredentials opens the sealed credentials of an account.
func (s *Store) AccountCredentials(a *MerchantAccount) (*Credentials, error) {
	if len(a.Credentials) == 0 {
		return &Credentials{}, nil
	}
	plain, err := s.open(a.Credentials, []byte(strconv.FormatInt(a.ID, 10)))
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// AllMids returns every mid, ordered.
func (s *Store) AllMids(ctx context.Context) ([]Mid, error) {
	var ms []Mid
	err := s.db.WithContext(ctx).Order("mid").Find(&ms).Error
	return ms, err
}

// FindMid returns one mid, or ENOTFOUND.
func (s *Store) FindMid(ctx context.Context, mid string) (*Mid, error) {
	var m Mid
	if err := s.db.WithContext(ctx).Where("mid = ?", mid).Take(&m).Error; err != nil {
		return nil, notFoundOr(err, "Mid")
	}
	return &m, nil
}

// CountLiveAccounts counts accounts that talk to the real Ksher.
func (s *Store) CountLiveAccounts(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&MerchantAccount{}).Where("NOT sandbox").Count(&n).Error
	return n, err
}

// MidAccess is a person's access to one mid.
type MidAccess struct {
	Mid         Mid
	Role        string
	RefundCap   *int64
	SameDayOnly bool
}

// Access returns the mids a person may see with their role on each: every
// mid (as owner) for owners, else their memberships.
func (s *Store) Access(ctx context.Context, u *User) ([]MidAccess, error) {
	if u.IsOwner {
		ms, err := s.AllMids(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]MidAccess, len(ms))
		for i, m := range ms {
			out[i] = MidAccess{Mid: m, Role: RoleOwner}
		}
		return out, nil
	}
	var rows []struct {
		Mid
		Role        string
		RefundCap   *int64
		SameDayOnly bool
	}
	err := s.db.WithContext(ctx).Table("memberships AS ms").
		Select("m.mid, m.account_id, m.name, m.currency, m.created_at, ms.role, ms.refund_cap, ms.same_day_only").
		Joins("JOIN mids m ON m.mid = ms.mid").Where("ms.user_id = ?", u.ID).Order("m.mid").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]MidAccess, len(rows))
	for i, r := range rows {
		out[i] = MidAccess{Mid: r.Mid, Role: r.Role, RefundCap: r.RefundCap, SameDayOnly: r.SameDayOnly}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mid.Mid < out[j].Mid.Mid })
	return out, nil
}

// SetLastMid remembers the mid a person last worked on.
func (s *Store) SetLastMid(ctx context.Context, userID int64, mid string) error {
	return s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Update("last_mid", mid).Error
}
