package main

import (
	"errors"
	"strings"
	"testing"
)

// The lookup budgets default to 30 and 300 searches a minute, take a whole
// number or "off", and refuse anything else (0 included) in one line.
func TestLoadConfigLookupBudgets(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	c, err := loadConfig(env(nil))
	if err != nil || c.LookupBudgetPerson != 30 || c.LookupBudgetAccount != 300 {
		t.Fatalf("defaults = %d, %d (%v); want 30, 300", c.LookupBudgetPerson, c.LookupBudgetAccount, err)
	}
	c, err = loadConfig(env(map[string]string{"LOOKUP_BUDGET_PERSON": "5", "LOOKUP_BUDGET_ACCOUNT": "off"}))
	if err != nil || c.LookupBudgetPerson != 5 || c.LookupBudgetAccount != 0 {
		t.Fatalf("5/off = %d, %d (%v); want 5, 0", c.LookupBudgetPerson, c.LookupBudgetAccount, err)
	}
	for _, name := range []string{"LOOKUP_BUDGET_PERSON", "LOOKUP_BUDGET_ACCOUNT"} {
		for _, bad := range []string{"0", "-1", "30/min", "1e3", "2000000", "OFF "} {
			_, err := loadConfig(env(map[string]string{name: bad}))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Var != name || strings.Contains(ce.Error(), "\n") || !strings.Contains(ce.Msg, "or off") {
				t.Errorf("%s=%q: err = %v, want one line naming %s", name, bad, err, name)
			}
		}
	}
}
