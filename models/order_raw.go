package models

import (
	"bytes"
	"encoding/json"
	"strings"
)

// secretKeys are redacted from raw gateway answers before display. Ksher's
// answers hold no secrets, only its own signature; this is defence in depth.
var secretKeys = map[string]bool{"sign": true, "signature": true, "token": true}

// RedactedRaw pretty-prints a stored gateway answer (an order's Raw, for
// the detail page's "Ksher's last answer") with every value under a
// key named sign, signature or token (any case, any depth) redacted.
func RedactedRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redact(v)); err != nil {
		return ""
	}
	return strings.TrimSpace(buf.String())
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretKeys[strings.ToLower(k)] {
				t[k] = "[redacted]"
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redact(x)
		}
	}
	return v
}
