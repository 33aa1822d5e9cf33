package models

import (
	"encoding/json"
	"strings"
	"testing"
)

// RedactedRaw indents a stored answer and redacts every value under a key
// named sign, signature or token, in any case and at any depth.
func TestRedactedRaw(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"empty", "", ""},
		{"not JSON", "<html>502 Bad Gateway</html>", ""},
		{"cut JSON", `{"a":`, ""},
		{"null", "null", "null"},
		{"indented", `{"b":1,"a":"x"}`, "{\n  \"a\": \"x\",\n  \"b\": 1\n}"},
		{"sign", `{"sign":"abc","code":0}`, "{\n  \"code\": 0,\n  \"sign\": \"[redacted]\"\n}"},
		{"any case", `{"Signature":"s","TOKEN":"t","SiGn":"x"}`,
			"{\n  \"SiGn\": \"[redacted]\",\n  \"Signature\": \"[redacted]\",\n  \"TOKEN\": \"[redacted]\"\n}"},
		{"nested", `{"data":{"token":"t","ok":true}}`, "{\n  \"data\": {\n    \"ok\": true,\n    \"token\": \"[redacted]\"\n  }\n}"},
		{"in arrays", `[{"sign":"a"},[{"signature":"b"}]]`,
			"[\n  {\n    \"sign\": \"[redacted]\"\n  },\n  [\n    {\n      \"signature\": \"[redacted]\"\n    }\n  ]\n]"},
		{"a secret object goes whole", `{"sign":{"r":"1","s":"2"}}`, "{\n  \"sign\": \"[redacted]\"\n}"},
		{"a secret number", `{"token":12345}`, "{\n  \"token\": \"[redacted]\"\n}"},
		{"only whole key names", `{"sign_type":"RSA","mch_sign":"m","tokens":"n"}`,
			"{\n  \"mch_sign\": \"m\",\n  \"sign_type\": \"RSA\",\n  \"tokens\": \"n\"\n}"},
		{"a secret word as a value is kept", `{"note":"sign"}`, "{\n  \"note\": \"sign\"\n}"},
		{"big numbers exactly", `{"amount":12345678901234567890,"rate":0.1000}`,
			"{\n  \"amount\": 12345678901234567890,\n  \"rate\": 0.1000\n}"},
		{"markup not escaped (the view escapes)", `{"msg":"<b>&</b>"}`, "{\n  \"msg\": \"<b>&</b>\"\n}"},
		{"NUL escaped", `{"msg":"a\u0000b"}`, "{\n  \"msg\": \"a\\u0000b\"\n}"},
		{"invalid UTF-8 replaced", "{\"msg\":\"a\xffb\"}", "{\n  \"msg\": \"a\ufffdb\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactedRaw(json.RawMessage(tt.raw)); got != tt.want {
				t.Errorf("RedactedRaw(%q) =\n%s\nwant\n%s", tt.raw, got, tt.want)
			}
		})
	}
}

// A deep answer full of secrets shows none of them.
func TestRedactedRawRedactsDeep(t *testing.T) {
	raw := strings.Repeat(`{"x":[{"sign":"SECRET1","y":`, 50) + `{"Token":"SECRET2"}` + strings.Repeat(`}]}`, 50)
	got := RedactedRaw(json.RawMessage(raw))
	if got == "" {
		t.Fatal("RedactedRaw = \"\", want the answer")
	}
	if strings.Contains(got, "SECRET") {
		t.Errorf("RedactedRaw shows a secret:\n%.400s", got)
	}
	if n := strings.Count(got, "[redacted]"); n != 51 {
		t.Errorf("%d values redacted, want 51", n)
	}
}
