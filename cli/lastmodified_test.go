package cli_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A POST moves an object's listed last_modified and its container's
// Last-Modified, as in Swift; an object PUT does not move the container's.
func TestPostMovesLastModified(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	url, tok := s.token(t, "test:tester", "testing")
	do(t, "PUT", url+"/lm", tok, nil, nil)
	do(t, "PUT", url+"/lm/o", tok, nil, strings.NewReader("x"))
	listed := func() string {
		_, _, body := do(t, "GET", url+"/lm?format=json", tok, nil, nil)
		var rows []struct {
			LastModified string `json:"last_modified"`
		}
		if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("listing %q: %v", body, err)
		}
		return rows[0].LastModified
	}
	containerLM := func() string {
		_, h, _ := do(t, "HEAD", url+"/lm", tok, nil, nil)
		return h.Get("Last-Modified")
	}
	before, cBefore := listed(), containerLM()
	time.Sleep(1100 * time.Millisecond)
	if code, _, _ := do(t, "POST", url+"/lm/o", tok, map[string]string{"X-Object-Meta-A": "b"}, nil); code != http.StatusAccepted {
		t.Fatalf("POST: %d", code)
	}
	if after := listed(); after <= before {
		t.Errorf("listing last_modified did not move on POST: %s then %s", before, after)
	}
	if containerLM() != cBefore {
		t.Errorf("an object POST moved the container's Last-Modified")
	}
	do(t, "POST", url+"/lm", tok, map[string]string{"X-Container-Meta-A": "b"}, nil)
	if containerLM() == cBefore {
		t.Errorf("a container POST did not move its Last-Modified (%s)", cBefore)
	}
}
