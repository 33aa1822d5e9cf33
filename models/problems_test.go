package models_test

import (
	"fmt"
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

// Problems: the first problem of a field stands, Err is nil without any,
// and an *InvalidInput reads as its first problem's message.
func TestProblems(t *testing.T) {
	p := models.Problems{}
	if p.Err() != nil {
		t.Fatal("no problems, but an error")
	}
	p.Add("name", "a.first", nil)
	p.Add("name", "a.second", nil)
	p.Merge(models.Problems{"name": {ID: "a.third"}, "mids": {ID: "b.mids", Data: map[string]any{"Mid": "m1"}}})
	if p["name"].ID != "a.first" || p["mids"].ID != "b.mids" || len(p) != 2 {
		t.Errorf("problems = %+v", p)
	}
	err := p.Err()
	bad := models.AsInvalidInput(fmt.Errorf("wrapped: %w", err))
	if bad == nil || len(bad.Problems) != 2 {
		t.Fatalf("AsInvalidInput = %+v", bad)
	}
	if models.ErrorCode(err) != models.EINVALID || models.ErrorMessageID(err) != "b.mids" || models.ErrorData(err)["Mid"] != "m1" {
		t.Errorf("code %q, message id %q (first field in order: mids)", models.ErrorCode(err), models.ErrorMessageID(err))
	}
	conflict := &models.InvalidInput{Code: models.ECONFLICT, Problems: models.Problems{"name": {ID: "x.taken"}}}
	if models.ErrorCode(conflict) != models.ECONFLICT {
		t.Errorf("conflict code = %q", models.ErrorCode(conflict))
	}
}
