package s3compat

import "testing"

func TestWildcardPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b", "arn:aws:s3:::b", true},
		{"arn:aws:s3:::b/pub/*.jpg", "arn:aws:s3:::b/pub/x/y.jpg", true},
		{"arn:aws:s3:::b/pub/*.jpg", "arn:aws:s3:::b/priv/y.jpg", false},
		{"s3:Get*", "s3:GetObject", true},
		{"s3:?etObject", "s3:GetObject", true},
		{"arn:aws:s3:::b/[x]", "arn:aws:s3:::b/[x]", true},
		{`arn:aws:s3:::b/a\b`, `arn:aws:s3:::b/a\b`, true},
	} {
		if got := wildcardPath(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardPath(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestPolicyDecisions(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::pub/*"},
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub",
		 "Condition":{"StringLike":{"s3:prefix":"photos/*"}}},
		{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/secret/*"}]}`
	p, e := parsePolicy([]byte(doc), "pub")
	if e != nil {
		t.Fatal(e)
	}
	for _, tc := range []struct {
		action, resource   string
		wantAllow, wantDen bool
	}{
		{"s3:GetObject", "arn:aws:s3:::pub/a.jpg", true, false},
		{"s3:PutObject", "arn:aws:s3:::pub/a.jpg", false, false},
		{"s3:GetObject", "arn:aws:s3:::pub/secret/k", false, true},
	} {
		allow, deny := p.decide(policyRequest{action: tc.action, resource: tc.resource})
		if allow != tc.wantAllow || deny != tc.wantDen {
			t.Errorf("%s %s: allow %v deny %v", tc.action, tc.resource, allow, deny)
		}
	}
	// Conditions swiftbox cannot evaluate never widen access.
	undecided, e := parsePolicy([]byte(`{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}},
		{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/x/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/k":"v"}}}]}`), "pub")
	if e != nil {
		t.Fatal(e)
	}
	if allow, _ := undecided.decide(policyRequest{action: "s3:GetObject", resource: "arn:aws:s3:::pub/a"}); allow {
		t.Error("an Allow with an undecidable condition granted access")
	}
	if _, deny := undecided.decide(policyRequest{action: "s3:GetObject", resource: "arn:aws:s3:::pub/x/a"}); !deny {
		t.Error("a Deny with an undecidable condition did not deny")
	}
	svc, e := parsePolicy([]byte(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}]}`), "pub")
	if e != nil {
		t.Fatalf("a service principal: %v", e)
	}
	if allow, _ := svc.decide(policyRequest{action: "s3:PutObject", resource: "arn:aws:s3:::pub/a"}); allow {
		t.Error("a statement for an AWS service granted anonymous access")
	}
	if !p.public() {
		t.Error("a policy granting GetObject to * is public")
	}
	for name, bad := range map[string]string{
		"not json":         `{`,
		"no statement":     `{"Version":"2012-10-17"}`,
		"other bucket":     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`,
		"bad effect":       `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`,
		"notprincipal":     `{"Statement":[{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`,
		"unknown op":       `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"Sometimes":{"aws:CurrentTime":"2020-01-01"}}}]}`,
		"non-s3 action":    `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:CreateUser","Resource":"arn:aws:s3:::pub/*"}]}`,
		"missing action":   `{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::pub/*"}]}`,
		"bad principal":    `{"Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`,
		"missing resource": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`,
	} {
		if _, e := parsePolicy([]byte(bad), "pub"); e == nil || e.Code != "MalformedPolicy" {
			t.Errorf("%s: %v, want MalformedPolicy", name, e)
		}
	}
}
