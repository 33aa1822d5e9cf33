package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// Config is the whole configuration, read once from the environment.
type Config struct {
	DatabaseURL    string
	ListenAddr     string
	DataDir        string
	BaseURL        string // public URL; "" = derived from the listen address
	SecretKey      string
	SecretKeyFile  string
	LogLevel       slog.Level
	LogFormat      string
	TimeZone       *time.Location
	SessionIdle    time.Duration
	SessionMaxAge  time.Duration
	OwnerEmail     string
	Sandbox        string // auto | on | off
	RequestTimeout time.Duration
	SyncInterval   time.Duration // how often vip daily reports are pulled; 0 = off
	// LinkMaxLifetime bounds a payment link's expiry (LINK_MAX_LIFETIME,
	// default and at most models.MaxLinkLifetime, 30 days).
	LinkMaxLifetime time.Duration
	TrustedProxies  []netip.Prefix // reverse proxies whose X-Forwarded-For is believed; none = trust nobody
	// Budgets of live Ksher lookups, in searches a minute (models.LookupLimits);
	// 0 = off (no limit).
	LookupBudgetPerson  int
	LookupBudgetAccount int
	// RefundReconcileFor is how long an unknown refund is asked about
	// before the drift page leaves it to a person.
	RefundReconcileFor time.Duration
}

// LogValue keeps secrets out of logs.
func (c Config) LogValue() slog.Value {
	db := "embedded"
	if c.DatabaseURL != "" {
		db = "[redacted]"
	}
	return slog.GroupValue(slog.String("database", db), slog.String("listen_addr", c.ListenAddr),
		slog.String("data_dir", c.DataDir), slog.String("base_url", c.BaseURL), slog.String("secret_key", "[redacted]"),
		slog.String("time_zone", c.TimeZone.String()), slog.String("sandbox", c.Sandbox),
		slog.String("trusted_proxies", joinPrefixes(c.TrustedProxies)),
		slog.Int("lookup_budget_person", c.LookupBudgetPerson), slog.Int("lookup_budget_account", c.LookupBudgetAccount))
}

// ConfigError is a bad configuration value: main prints it as one line and
// exits with status 2.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return "configuration: " + e.Var + ": " + e.Msg }

// loadConfig reads and validates the environment. Secrets may also come from
// a file named by VAR_FILE (trailing newline trimmed); setting both is an error.
func loadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		ListenAddr: or(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
		DataDir:    or(getenv("DATA_DIR"), "./.ksherdash"),
		BaseURL:    strings.TrimRight(getenv("BASE_URL"), "/"),
		LogFormat:  or(getenv("LOG_FORMAT"), "text"),
		OwnerEmail: or(getenv("OWNER_EMAIL"), "owner@example.com"),
		Sandbox:    or(getenv("SANDBOX"), "auto"),
	}
	var err error
	if c.DatabaseURL, err = secret(getenv, "DATABASE_URL"); err != nil {
		return nil, err
	}
	if c.SecretKey, err = secret(getenv, "SECRET_KEY"); err != nil {
		return nil, err
	}
	c.SecretKeyFile = getenv("SECRET_KEY_FILE")
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return nil, &ConfigError{"SECRET_KEY", "must be at least 32 characters"}
	}
	if c.DatabaseURL != "" {
		if err := checkDSN(c.DatabaseURL); err != nil {
			return nil, &ConfigError{"DATABASE_URL", err.Error()}
		}
	}
	if _, port, err := net.SplitHostPort(c.ListenAddr); err != nil || port == "" {
		return nil, &ConfigError{"LISTEN_ADDR", fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:8080)", c.ListenAddr)}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConfigError{"BASE_URL", fmt.Sprintf("%q is not an absolute http(s) URL", c.BaseURL)}
		}
		// Schemes are case-insensitive, and url.Parse lower-cases them: so
		// does BASE_URL, or "HTTPS://..." would not turn on secure cookies.
		c.BaseURL = u.Scheme + c.BaseURL[len(u.Scheme):]
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return nil, &ConfigError{"LOG_LEVEL", "must be debug, info, warn or error"}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, &ConfigError{"LOG_FORMAT", "must be text or json"}
	}
	if c.TimeZone, err = time.LoadLocation(or(getenv("TIME_ZONE"), "Asia/Bangkok")); err != nil {
		return nil, &ConfigError{"TIME_ZONE", fmt.Sprintf("%q is not an IANA time zone (e.g. Asia/Bangkok)", getenv("TIME_ZONE"))}
	}
	if c.SessionIdle, err = duration(getenv, "SESSION_IDLE_TIMEOUT", 30*time.Minute); err != nil {
		return nil, err
	}
	// Sessions record activity every min(1 min, idle/2) (models.SessionPolicy),
	// so a short idle timeout works; under minSessionIdle one slow page or
	// replicas' clocks a little apart would end sessions in use.
	if c.SessionIdle < minSessionIdle {
		return nil, &ConfigError{"SESSION_IDLE_TIMEOUT", fmt.Sprintf("%q is too short: at least %s", getenv("SESSION_IDLE_TIMEOUT"), minSessionIdle)}
	}
	if c.SessionMaxAge, err = duration(getenv, "SESSION_MAX_AGE", 12*time.Hour); err != nil {
		return nil, err
	}
	if c.RequestTimeout, err = duration(getenv, "REQUEST_TIMEOUT", 30*time.Second); err != nil {
		return nil, err
	}
	if c.LinkMaxLifetime, err = duration(getenv, "LINK_MAX_LIFETIME", models.MaxLinkLifetime); err != nil {
		return nil, err
	}
	if c.LinkMaxLifetime < time.Hour || c.LinkMaxLifetime > models.MaxLinkLifetime {
		return nil, &ConfigError{"LINK_MAX_LIFETIME", fmt.Sprintf("must be between 1h and %s", models.MaxLinkLifetime)}
	}
	if getenv("SYNC_INTERVAL") != "off" {
		if c.SyncInterval, err = duration(getenv, "SYNC_INTERVAL", 15*time.Minute); err != nil {
			return nil, err
		}
	}
	if c.RefundReconcileFor, err = duration(getenv, "REFUND_RECONCILE_FOR", 24*time.Hour); err != nil {
		return nil, err
	}
	switch c.Sandbox {
	case "auto", "on", "off":
	default:
		return nil, &ConfigError{"SANDBOX", "must be auto, on or off"}
	}
	if c.TrustedProxies, err = trustedProxies(getenv("TRUSTED_PROXIES")); err != nil {
		return nil, err
	}
	if c.LookupBudgetPerson, err = lookupBudget(getenv, "LOOKUP_BUDGET_PERSON", 30); err != nil {
		return nil, err
	}
	if c.LookupBudgetAccount, err = lookupBudget(getenv, "LOOKUP_BUDGET_ACCOUNT", 300); err != nil {
		return nil, err
	}
	if !strings.Contains(c.OwnerEmail, "@") {
		return nil, &ConfigError{"OWNER_EMAIL", "must be an email address"}
	}
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return nil, &ConfigError{"DATA_DIR", err.Error()}
	}
	return c, nil
}

// minSessionIdle is the shortest SESSION_IDLE_TIMEOUT accepted.
const minSessionIdle = 10 * time.Second

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &ConfigError{name, fmt.Sprintf("%q is not a positive duration (e.g. 30m)", v)}
	}
	return d, nil
}

// maxLookupBudget keeps a budget's count within its integer column.
const maxLookupBudget = 1_000_000

// lookupBudget reads a budget of live lookups: a whole number of searches a
// minute, or "off" (0: no limit). 0 itself is refused, so that nobody
// meaning "no live lookups" gets "no limit" instead.
func lookupBudget(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	switch v {
	case "":
		return def, nil
	case "off":
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLookupBudget {
		return 0, &ConfigError{name, fmt.Sprintf("%q is not a number of searches a minute from 1 to %d, or off", v, maxLookupBudget)}
	}
	return n, nil
}

// trustedProxies parses TRUSTED_PROXIES: comma-separated addresses and
// CIDR prefixes, IPv4 or IPv6; an address alone is a /32 or /128.
func trustedProxies(v string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil && a.Zone() != "" {
				err = errors.New("zone")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return nil, &ConfigError{"TRUSTED_PROXIES", fmt.Sprintf("%q is not an IP address or CIDR prefix (e.g. 10.0.0.0/8,127.0.0.1)", s)}
		}
		// Client addresses are compared unmapped (handlers.ResolveClientIP):
		// so is ::ffff:10.0.0.0/104.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// secret reads NAME or the file named by NAME_FILE.
func secret(getenv func(string) string, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	switch {
	case v != "" && file != "":
		return "", &ConfigError{name, "set either " + name + " or " + name + "_FILE, not both"}
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", &ConfigError{name + "_FILE", "cannot read the file: " + errors.Unwrap(err).Error()}
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return v, nil
}

// checkDSN accepts a postgres:// URL or a keyword/value string.
func checkDSN(dsn string) error {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("not a valid postgres:// URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("the URL names no host")
		}
		return nil
	}
	if strings.Contains(dsn, "=") {
		return nil
	}
	return errors.New("must be a postgres:// URL or key=value connection string")
}

// loadSecretKey returns the configured key, or the one kept in DATA_DIR,
// creating it (0600) on first start.
func loadSecretKey(c *Config) ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	path := filepath.Join(c.DataDir, "secret_key")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(key), nil
}
