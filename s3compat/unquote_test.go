package s3compat

import "testing"

func TestUnquoteLeavesBadEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"/b/plain":                 "/b/plain",
		"/b/a%20b":                 "/b/a b",
		"/b/name with %-sign 🙂":    "/b/name with %-sign 🙂",
		"/b/%E2%98%83":             "/b/☃",
		"/b/100%":                  "/b/100%",
		"/b/%zz%41":                "/b/%zzA",
		"/b/a+b":                   "/b/a+b",
		"/b/%2":                    "/b/%2",
		"/b/%F0%9F%99%82%25%2Fend": "/b/🙂%/end",
	} {
		if got := unquote(in); got != want {
			t.Errorf("unquote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUploadIDsAreNotOptions(t *testing.T) {
	for range 2000 {
		if id := newUploadID(); id[0] == '-' || id[0] == '_' || len(id) != 22 {
			t.Fatalf("upload id %q", id)
		}
	}
}
