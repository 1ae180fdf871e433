package proxy

import "testing"

func TestCrossDomain(t *testing.T) {
	c := startTestCluster(t)
	resp, body := c.must(200, "GET", "/crossdomain.xml", "", "X-Auth-Token:")
	want := "<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM \"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\" >\n<cross-domain-policy>\n<allow-access-from domain=\"*\" secure=\"false\" />\n</cross-domain-policy>"
	if body != want || resp.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("crossdomain: %q %q", resp.Header.Get("Content-Type"), body)
	}
}
