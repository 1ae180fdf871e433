package cli_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// authzEnv is one server with the buckets, users, keys, policies, grants
// and links the S3 authorization attacks run against. Users: test:tester
// owns AUTH_test (also s3.anonymous_account), other:eve owns AUTH_other,
// test:alice (admin of AUTH_test) has a key limited to bucket kb and a
// read-only key.
type authzEnv struct {
	s      *server
	s3Addr string
	owner  *s3.Client // test:tester
	eve    *s3.Client // other:eve, another account
	alice  *s3.Client // test:alice's own key
	kbKey  aws.Credentials
	roKey  aws.Credentials
	kb     *s3.Client // the key limited to bucket kb
	ro     *s3.Client // the read-only key
	upload string     // an upload in kb (by alice)
}

var (
	ownerCreds = aws.Credentials{AccessKeyID: "test:tester", SecretAccessKey: "testing"}
	eveCreds   = aws.Credentials{AccessKeyID: "other:eve", SecretAccessKey: "evekey"}
	s3CodeRE   = regexp.MustCompile(`<Code>([^<]*)</Code>`)
)

// raw sends a request to the S3 listener: SigV4-signed with creds (the
// payload hashed), or unsigned when creds is nil. It returns the status
// and the first S3 error code of the body (a DeleteObjects' first key error).
func (e *authzEnv) raw(t *testing.T, creds *aws.Credentials, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.s3Addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	if body != "" {
		sum := md5.Sum([]byte(body))
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	if creds != nil {
		hash := sha256hex(body)
		req.Header.Set("X-Amz-Content-Sha256", hash)
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code := ""
	if m := s3CodeRE.FindStringSubmatch(string(b)); m != nil {
		code = m[1]
	}
	return resp.StatusCode, code
}

// swift sends a Swift API request as user (its token).
func (e *authzEnv) swift(t *testing.T, user, key, method, path string, body string, hdr ...string) {
	t.Helper()
	storage, token := e.s.token(t, user, key)
	req, _ := http.NewRequest(method, storage+path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", token)
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("swift %s %s: %d", method, path, resp.StatusCode)
	}
}

// sdkResult is the status and S3 code of an SDK call's error (200, "" for none).
func sdkResult(err error) (int, string) {
	if err == nil {
		return 200, ""
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode(), s3Code(err)
	}
	return 0, err.Error()
}

const deleteDoc = `<Delete><Object><Key>keep</Key></Object></Delete>`

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	e := startAuthzServer(t)
	e.seedObjects(t)
	e.seedPolicies(t)
	e.seedLinks(t)
	e.checkReachable(t)
	return e
}

// startAuthzServer starts the server with alice's keys and an S3 client
// for each user and key.
func startAuthzServer(t *testing.T) *authzEnv {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	// The fixture polls until new access keys are known (failed logins
	// meanwhile), and the cases make many deliberate failures: the login
	// throttle, tested on its own, is raised out of their way.
	if err := os.WriteFile(cfgFile, []byte("s3:\n  anonymous_account: AUTH_test\nauth:\n  login_throttle: {max_failures: 1000}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &authzEnv{s3Addr: ln.Addr().String()}
	ln.Close()
	dev := filepath.Join(dir, "devs")
	e.s = startServer(t, dev, "--config", cfgFile, "--s3-addr", e.s3Addr,
		"--user", "test:tester:testing:.admin", "--user", "other:eve:evekey:.admin")
	run(t, false, "user", "add", "test:alice", "--admin", "--key", "alicekey", "--config", cfgFile)
	pair := regexp.MustCompile(`access key: (\S+)\nsecret key: (\S+)`)
	m := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--bucket", "keyb", "--config", cfgFile))
	r := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--read-only", "--config", cfgFile))
	if m == nil || r == nil {
		t.Fatal("user key create printed no key")
	}
	e.kbKey = aws.Credentials{AccessKeyID: m[1], SecretAccessKey: m[2]}
	e.roKey = aws.Credentials{AccessKeyID: r[1], SecretAccessKey: r[2]}
	endpoint := "http://" + e.s3Addr
	hc := &http.Client{}
	e.owner = s3ClientAt(t, endpoint, hc, "test:tester", "testing")
	e.eve = s3ClientAt(t, endpoint, hc, "other:eve", "evekey")
	e.alice = s3ClientAt(t, endpoint, hc, "test:alice", "alicekey")
	e.kb = s3ClientAt(t, endpoint, hc, m[1], m[2])
	e.ro = s3ClientAt(t, endpoint, hc, r[1], r[2])
	ctx := context.Background()
	eventually(t, "alice's keys", func() bool {
		_, err1 := e.alice.ListBuckets(ctx, &s3.ListBucketsInput{})
		_, err2 := e.kb.ListBuckets(ctx, &s3.ListBucketsInput{})
		_, err3 := e.ro.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err1 == nil && err2 == nil && err3 == nil
	})
	return e
}

func (e *authzEnv) mk(t *testing.T, c *s3.Client, bucket string, acl types.BucketCannedACL) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket), ACL: acl}); err != nil {
		t.Fatalf("create %s: %v", bucket, err)
	}
}

func (e *authzEnv) put(t *testing.T, c *s3.Client, bucket, key, data string, acl types.ObjectCannedACL) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(data), ACL: acl}); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// policy sets a bucket policy as the owner.
func (e *authzEnv) policy(t *testing.T, bucket, doc string) {
	t.Helper()
	if _, err := e.owner.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)}); err != nil {
		t.Fatalf("policy on %s: %v", bucket, err)
	}
}

// grant sets a bucket ACL as the owner, who keeps full control.
func (e *authzEnv) grant(t *testing.T, bucket string, in s3.PutBucketAclInput) {
	t.Helper()
	in.Bucket = aws.String(bucket)
	in.GrantFullControl = aws.String("id=test:tester")
	if _, err := e.owner.PutBucketAcl(context.Background(), &in); err != nil {
		t.Fatalf("grant on %s: %v", bucket, err)
	}
}

// seedObjects makes the owner's buckets and objects.
func (e *authzEnv) seedObjects(t *testing.T) {
	t.Helper()
	for _, b := range []string{"pub", "lbv", "acpw", "priv", "rdb", "wrb", "cond", "denyver", "delv"} {
		e.mk(t, e.owner, b, "")
	}
	e.mk(t, e.owner, "denyget", types.BucketCannedACLPublicRead)
	e.mk(t, e.owner, "dropbox", types.BucketCannedACLPublicReadWrite)
	e.mk(t, e.owner, "prb", types.BucketCannedACLPublicRead)
	e.put(t, e.owner, "priv", "secret", "top secret", "")
	e.put(t, e.owner, "priv", "segs/1", "segment one", "")
	e.put(t, e.owner, "priv", "seg1", "slo segment", "")
	e.put(t, e.owner, "pub", "a.txt", "public a", "")
	e.put(t, e.owner, "pub", "hidden/x", "hidden", "")
	e.put(t, e.owner, "pub", "keep", "keep me", "")
	e.put(t, e.owner, "lbv", "keep", "keep me", "")
	e.put(t, e.owner, "acpw", "doc", "doc", "")
	e.put(t, e.owner, "denyget", "secret", "public-read but denied", types.ObjectCannedACLPublicRead)
	e.put(t, e.owner, "rdb", "doc", "readable", "")
	e.put(t, e.owner, "rdb", "keep", "keep me", "")
	e.put(t, e.owner, "prb", "private-obj", "private in a public bucket", types.ObjectCannedACLPrivate)
	e.put(t, e.owner, "priv", "keep", "keep me", "")
	e.put(t, e.owner, "dropbox", "owned", "the owner's", "")
	for _, k := range []string{"ip/x", "ua/x", "unk/x", "deny/x"} {
		e.put(t, e.owner, "cond", k, "cond "+k, "")
	}
	e.put(t, e.owner, "denyver", "x", "versioned read denied", types.ObjectCannedACLPublicRead)
	e.put(t, e.owner, "delv", "keep", "keep me", "")
}

// seedPolicies sets the owner's bucket policies, grants and an object ACL.
func (e *authzEnv) seedPolicies(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e.policy(t, "pub", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::pub","arn:aws:s3:::pub/*"]},`+
		`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/hidden/*"}]}`)
	e.policy(t, "denyver", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::denyver/*"},`+
		`{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectVersion","Resource":"arn:aws:s3:::denyver/*"}]}`)
	e.policy(t, "delv", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::delv/*"}]}`)
	e.policy(t, "lbv", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucketVersions","Resource":"arn:aws:s3:::lbv"}]}`)
	e.policy(t, "denyget", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::denyget/*"}]}`)
	e.policy(t, "cond", `{"Statement":[`+
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/ip/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},`+
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/ua/*","Condition":{"StringEquals":{"aws:UserAgent":"good-agent"}}},`+
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/unk/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}},`+
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/deny/*"},`+
		`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/deny/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}`)
	e.grant(t, "acpw", s3.PutBucketAclInput{GrantReadACP: aws.String("id=other:eve"), GrantWriteACP: aws.String("id=other:eve")})
	e.grant(t, "rdb", s3.PutBucketAclInput{GrantRead: aws.String("id=other:eve")})
	e.grant(t, "wrb", s3.PutBucketAclInput{GrantWrite: aws.String("id=other:eve")})
	// rb's objects are eve's to read (object ACLs), its links lead out.
	if _, err := e.owner.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("rdb"), Key: aws.String("doc"),
		GrantRead: aws.String("id=other:eve"), GrantFullControl: aws.String("id=test:tester")}); err != nil {
		t.Fatal(err)
	}
}

// seedLinks makes eve's world-readable bucket and, with the Swift API,
// links pointing out of their bucket; alice starts an upload in keyb.
func (e *authzEnv) seedLinks(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	// eve's bucket, world-readable through its Swift ACL.
	e.mk(t, e.eve, "evebox", "")
	e.put(t, e.eve, "evebox", "pub", "eve's public file", "")
	e.swift(t, "other:eve", "evekey", "POST", "/evebox", "", "X-Container-Read: .r:*,.rlistings")

	// Links made with the Swift API, pointing out of their bucket.
	slo := `[{"path":"/priv/seg1"}]`
	e.mk(t, e.alice, "keyb", "")
	e.put(t, e.alice, "keyb", "own", "kb's own", "")
	e.symlink(t, "/keyb/link", "priv/secret")
	e.symlink(t, "/keyb/xlink", "evebox/pub", "X-Symlink-Target-Account: AUTH_other")
	e.swift(t, "test:tester", "testing", "PUT", "/keyb/dlo", "", "X-Object-Manifest: priv/segs/")
	e.swift(t, "test:tester", "testing", "PUT", "/keyb/slo?multipart-manifest=put", slo)
	e.symlink(t, "/rdb/link", "priv/secret")
	e.swift(t, "test:tester", "testing", "PUT", "/rdb/dlo", "", "X-Object-Manifest: priv/segs/")
	e.swift(t, "test:tester", "testing", "PUT", "/pub/slo?multipart-manifest=put", slo)
	e.swift(t, "test:tester", "testing", "PUT", "/pub/link", "", "Content-Type: application/symlink", "X-Symlink-Target: priv/secret")
	up, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("keyb"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	e.upload = aws.ToString(up.UploadId)
}

// symlink makes a Swift symlink at path to target as the owner.
func (e *authzEnv) symlink(t *testing.T, path, target string, hdr ...string) {
	t.Helper()
	e.swift(t, "test:tester", "testing", "PUT", path, "", append(hdr, "Content-Type: application/symlink", "X-Symlink-Target: "+target)...)
}

// checkReachable checks that what the attacks must not reach is reachable
// the honest way (so a refusal is the authorization's, not a broken fixture).
func (e *authzEnv) checkReachable(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct {
		who  *s3.Client
		b, k string
	}{{e.alice, "priv", "secret"}, {e.eve, "rdb", "doc"}, {e.kb, "keyb", "own"}, {e.ro, "keyb", "own"}, {e.alice, "keyb", "link"}, {e.alice, "keyb", "xlink"}, {e.alice, "keyb", "dlo"}, {e.alice, "keyb", "slo"}} {
		get, err := c.who.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.b), Key: aws.String(c.k)})
		if err != nil {
			t.Fatalf("fixture: GET %s/%s: %v", c.b, c.k, err)
		}
		get.Body.Close()
	}
	if st, _ := e.raw(t, nil, "GET", "/pub/a.txt", ""); st != 200 {
		t.Fatalf("fixture: the public policy does not open pub: %d", st)
	}
	if st, _ := e.raw(t, nil, "GET", "/denyver/x", ""); st != 200 {
		t.Fatalf("fixture: the policy does not open denyver: %d", st)
	}
	if st, _ := e.raw(t, nil, "GET", "/cond/ua/x", "", "User-Agent: good-agent"); st != 200 {
		t.Fatalf("fixture: the User-Agent condition does not open cond/ua: %d", st)
	}
}

// exists fails the test when bucket/key is gone.
func (e *authzEnv) exists(bucket, key string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if _, err := e.owner.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			t.Fatalf("%s/%s is gone: %v", bucket, key, err)
		}
	}
}

// TestAttackS3Authz tries what an attacker would against the S3 layer's
// authorization — conflicting sub-resources, secondary resources (copy
// sources, DeleteObjects keys, link targets), policies, grants, access
// key scopes, other accounts, anonymous callers — each case asserting
// the exact refusal.
func TestAttackS3Authz(t *testing.T) {
	e := newAuthzEnv(t)
	var cases []authzCase
	for _, theme := range [][]authzCase{e.findingsCases(), e.keyScopesCases(), e.policiesCases(), e.grantsCases(),
		e.anonymousCases(), e.classificationCases()} {
		cases = append(cases, theme...)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, code := tc.do(t)
			if st != tc.status || code != tc.code {
				t.Errorf("got %d %q, want %d %q", st, code, tc.status, tc.code)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
	t.Logf("%d attack cases", len(cases))
	e.nothingCopied(t)
}

// nothingCopied checks that no attack copied anything anywhere.
func (e *authzEnv) nothingCopied(t *testing.T) {
	ctx := context.Background()
	for _, b := range []string{"evebox", "wrb", "dropbox", "keyb"} {
		c := e.owner
		if b == "evebox" {
			c = e.eve
		}
		for _, k := range []string{"stolen", "copied"} {
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)}); err == nil {
				t.Errorf("%s/%s was written", b, k)
			}
		}
	}
}

// copyInto is a CopyObject by c of src into bucket/key.
func (e *authzEnv) copyInto(c *s3.Client, bucket, key, src string) func(*testing.T) (int, string) {
	return func(*testing.T) (int, string) {
		_, err := c.CopyObject(context.Background(), &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), CopySource: aws.String(src)})
		return sdkResult(err)
	}
}

// get is a GetObject by c of bucket/key, its body read.
func (e *authzEnv) get(c *s3.Client, bucket, key string) func(*testing.T) (int, string) {
	return func(*testing.T) (int, string) {
		out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err == nil {
			io.Copy(io.Discard, out.Body)
			out.Body.Close()
		}
		return sdkResult(err)
	}
}

// send is e.raw as a case's action.
func (e *authzEnv) send(creds *aws.Credentials, method, path, body string, hdr ...string) func(*testing.T) (int, string) {
	return func(t *testing.T) (int, string) { return e.raw(t, creds, method, path, body, hdr...) }
}

// partCopy is an UploadPartCopy by c of src into a new upload in bucket.
func (e *authzEnv) partCopy(c *s3.Client, bucket, src string) func(*testing.T) (int, string) {
	return func(t *testing.T) (int, string) {
		up, err := c.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp-copy")})
		if err != nil {
			t.Fatalf("CreateMultipartUpload in %s: %v", bucket, err)
		}
		_, err = c.UploadPartCopy(context.Background(), &s3.UploadPartCopyInput{Bucket: aws.String(bucket), Key: aws.String("mp-copy"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), CopySource: aws.String(src)})
		return sdkResult(err)
	}
}

// postObject uploads with a browser form signed (V2) by creds.
func (e *authzEnv) postObject(creds aws.Credentials, bucket string) func(*testing.T) (int, string) {
	return func(t *testing.T) (int, string) {
		p := base64.StdEncoding.EncodeToString([]byte(`{"expiration":"` + time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z") +
			`","conditions":[{"bucket":"` + bucket + `"},["starts-with","$key",""]]}`))
		m := hmac.New(sha1.New, []byte(creds.SecretAccessKey))
		m.Write([]byte(p))
		st, body := postForm(t, "http://"+e.s3Addr+"/"+bucket, [][2]string{{"key", "posted"}, {"AWSAccessKeyId", creds.AccessKeyID},
			{"policy", p}, {"signature", base64.StdEncoding.EncodeToString(m.Sum(nil))}}, "form data")
		code := ""
		if m := s3CodeRE.FindStringSubmatch(body); m != nil {
			code = m[1]
		}
		return st, code
	}
}

// deleteKeep is the DeleteObjects path of bucket.
func deleteKeep(bucket string) string { return "/" + bucket + "?delete" }

const completeDoc = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`

// authzCase is one attack of TestAttackS3Authz: do returns the status and
// S3 code it got; check verifies that nothing was harmed.
type authzCase struct {
	name   string
	do     func(*testing.T) (int, string)
	status int
	code   string
	check  func(*testing.T)
}

// Findings 1, 3, 4 and 9 of the review.
func (e *authzEnv) findingsCases() []authzCase {
	eve, kb := &eveCreds, &e.kbKey
	return []authzCase{
		// Finding 1: ?delete&versions was judged as ListBucketVersions and
		// run as DeleteObjects, whose keys were checked only against Deny.
		{name: "F1/anonymous-delete&versions-under-ListBucketVersions-policy", do: e.send(nil, "POST", "/lbv?delete&versions", deleteDoc),
			status: 400, code: "InvalidArgument", check: e.exists("lbv", "keep")},
		{name: "F1/anonymous-DeleteObjects-under-ListBucketVersions-policy", do: e.send(nil, "POST", deleteKeep("lbv"), deleteDoc),
			status: 200, code: "AccessDenied", check: e.exists("lbv", "keep")},
		{name: "F1/anonymous-delete&versions-under-public-Get*-List*-policy", do: e.send(nil, "POST", "/pub?delete&versions", deleteDoc),
			status: 400, code: "InvalidArgument", check: e.exists("pub", "keep")},
		{name: "F1/anonymous-DeleteObjects-under-public-Get*-List*-policy", do: e.send(nil, "POST", deleteKeep("pub"), deleteDoc),
			status: 200, code: "AccessDenied", check: e.exists("pub", "keep")},
		{name: "F1/anonymous-versions&delete-order-swapped", do: e.send(nil, "POST", "/pub?versions&delete", deleteDoc),
			status: 400, code: "InvalidArgument", check: e.exists("pub", "keep")},

		// Finding 3: the ACL check looked at acl, the router acted on policy/cors.
		{name: "F3/WRITE_ACP-grantee-PUT-policy&acl", do: e.send(eve, "PUT", "/acpw?policy&acl",
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acpw/*"}]}`), status: 400, code: "InvalidArgument"},
		{name: "F3/READ_ACP-grantee-GET-policy&acl", do: e.send(eve, "GET", "/acpw?policy&acl", ""), status: 400, code: "InvalidArgument"},
		{name: "F3/WRITE_ACP-grantee-PUT-cors&acl", do: e.send(eve, "PUT", "/acpw?cors&acl",
			`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`), status: 400, code: "InvalidArgument"},
		{name: "F3/READ_ACP-grantee-GET-cors&acl", do: e.send(eve, "GET", "/acpw?acl&cors", ""), status: 400, code: "InvalidArgument"},
		{name: "F3/WRITE_ACP-grantee-PUT-policy", do: e.send(eve, "PUT", "/acpw?policy",
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acpw/*"}]}`), status: 403, code: "AccessDenied"},
		{name: "F3/READ_ACP-grantee-GET-policy", do: e.send(eve, "GET", "/acpw?policy", ""), status: 403, code: "AccessDenied"},
		{name: "F3/READ_ACP-grantee-GET-cors", do: e.send(eve, "GET", "/acpw?cors", ""), status: 403, code: "AccessDenied"},
		{name: "F3/WRITE_ACP-grantee-DELETE-tagging&acl", do: e.send(eve, "DELETE", "/acpw?tagging&acl", ""), status: 400, code: "InvalidArgument"},

		// Finding 4: copy sources were judged by ACLs only.
		{name: "F4/CopyObject-of-policy-denied-source-by-other-account", do: e.copyInto(e.eve, "evebox", "stolen", "denyget/secret"), status: 403, code: "AccessDenied"},
		{name: "F4/UploadPartCopy-of-policy-denied-source-by-other-account", do: e.partCopy(e.eve, "evebox", "denyget/secret"), status: 403, code: "AccessDenied"},
		{name: "F4/anonymous-CopyObject-of-policy-denied-source", do: e.send(nil, "PUT", "/dropbox/stolen", "", "X-Amz-Copy-Source: /denyget/secret"), status: 403, code: "AccessDenied"},
		{name: "F4/direct-GET-of-policy-denied-object", do: e.get(e.eve, "denyget", "secret"), status: 403, code: "AccessDenied"},

		// Finding 9: a bucket-limited key followed links out of its bucket.
		{name: "F9/bucket-key-symlink-to-other-bucket", do: e.get(e.kb, "keyb", "link"), status: 403, code: "AccessDenied"},
		{name: "F9/bucket-key-symlink-to-other-account", do: e.get(e.kb, "keyb", "xlink"), status: 403, code: "AccessDenied"},
		{name: "F9/bucket-key-DLO-segments-in-other-bucket", do: e.get(e.kb, "keyb", "dlo"), status: 403, code: "AccessDenied"},
		{name: "F9/bucket-key-SLO-segments-in-other-bucket", do: e.get(e.kb, "keyb", "slo"), status: 409, code: "BrokenMPU"},
		{name: "F9/bucket-key-HEAD-symlink-to-other-bucket", do: e.send(kb, "HEAD", "/keyb/link", ""), status: 403, code: ""},
		{name: "F9/bucket-key-CopyObject-from-symlink-out", do: e.copyInto(e.kb, "keyb", "copied", "keyb/link"), status: 403, code: "AccessDenied"},
	}
}

// Access key scopes: bucket-limited and read-only keys.
func (e *authzEnv) keyScopesCases() []authzCase {
	kb, ro := &e.kbKey, &e.roKey
	return []authzCase{
		{name: "key/bucket-key-GET-other-bucket", do: e.get(e.kb, "priv", "secret"), status: 403, code: "AccessDenied"},
		{name: "key/bucket-key-list-other-bucket", do: e.send(kb, "GET", "/priv", ""), status: 403, code: "AccessDenied"},
		{name: "key/bucket-key-CopyObject-from-other-bucket", do: e.copyInto(e.kb, "keyb", "copied", "priv/secret"), status: 403, code: "AccessDenied"},
		{name: "key/bucket-key-UploadPartCopy-from-other-bucket", do: e.partCopy(e.kb, "keyb", "priv/secret"), status: 403, code: "AccessDenied"},
		{name: "key/bucket-key-DeleteObjects-other-bucket", do: e.send(kb, "POST", deleteKeep("priv"), deleteDoc), status: 403, code: "AccessDenied", check: e.exists("priv", "keep")},
		{name: "key/bucket-key-PUT-policy-other-bucket", do: e.send(kb, "PUT", "/priv?policy", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prbiv/*"}]}`), status: 403, code: "AccessDenied"},
		{name: "key/bucket-key-POST-Object-into-other-bucket", do: e.postObject(e.kbKey, "priv"), status: 403, code: "AccessDenied"},
		{name: "key/read-only-DeleteObjects", do: e.send(ro, "POST", deleteKeep("keyb"), `<Delete><Object><Key>own</Key></Object></Delete>`), status: 403, code: "AccessDenied", check: e.exists("keyb", "own")},
		{name: "key/read-only-CreateMultipartUpload", do: e.send(ro, "POST", "/keyb/new?uploads", ""), status: 403, code: "AccessDenied"},
		{name: "key/read-only-CompleteMultipartUpload", do: e.send(ro, "POST", "/keyb/mp?uploadId="+e.upload, completeDoc), status: 403, code: "AccessDenied"},
		{name: "key/read-only-AbortMultipartUpload", do: e.send(ro, "DELETE", "/keyb/mp?uploadId="+e.upload, ""), status: 403, code: "AccessDenied"},
		{name: "key/read-only-CopyObject", do: e.copyInto(e.ro, "keyb", "copied", "keyb/own"), status: 403, code: "AccessDenied"},
		{name: "key/read-only-POST-Object", do: e.postObject(e.roKey, "keyb"), status: 403, code: "AccessDenied"},
		{name: "key/read-only-PUT-object", do: e.send(ro, "PUT", "/keyb/new", "x"), status: 403, code: "AccessDenied"},
		{name: "key/read-only-PUT-acl", do: e.send(ro, "PUT", "/keyb/own?acl", "", "X-Amz-Acl: public-read"), status: 403, code: "AccessDenied"},
		{name: "key/read-only-PUT-tagging", do: e.send(ro, "PUT", "/keyb/own?tagging", `<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>`), status: 403, code: "AccessDenied"},
		{name: "key/read-only-DELETE-tagging", do: e.send(ro, "DELETE", "/keyb/own?tagging", ""), status: 403, code: "AccessDenied"},
		{name: "key/read-only-PUT-bucket-policy", do: e.send(ro, "PUT", "/keyb?policy", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::keyb/*"}]}`), status: 403, code: "AccessDenied"},
		{name: "key/read-only-DELETE-bucket", do: e.send(ro, "DELETE", "/keyb", ""), status: 403, code: "AccessDenied"},
		{name: "key/read-only-CreateBucket", do: e.send(ro, "PUT", "/rocreated", ""), status: 403, code: "AccessDenied"},
	}
}

// Bucket policies: wildcards, Deny, owner-only settings, conditions.
func (e *authzEnv) policiesCases() []authzCase {
	eve := &eveCreds
	return []authzCase{
		{name: "policy/Get*-List*-does-not-grant-PutObject", do: e.send(nil, "PUT", "/pub/new", "x"), status: 403, code: "AccessDenied"},
		{name: "policy/Get*-List*-does-not-grant-DeleteObject", do: e.send(nil, "DELETE", "/pub/a.txt", ""), status: 403, code: "AccessDenied", check: e.exists("pub", "a.txt")},
		{name: "policy/Get*-does-not-grant-GetBucketPolicy", do: e.send(nil, "GET", "/pub?policy", ""), status: 403, code: "AccessDenied"},
		{name: "policy/never-grants-PutBucketPolicy", do: e.send(nil, "PUT", "/pub?policy", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*"}]}`), status: 403, code: "AccessDenied"},
		{name: "policy/never-grants-PutBucketAcl", do: e.send(nil, "PUT", "/pub?acl", "", "X-Amz-Acl: public-read-write"), status: 403, code: "AccessDenied"},
		{name: "policy/never-grants-PutBucketCors", do: e.send(nil, "PUT", "/pub?cors", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`), status: 403, code: "AccessDenied"},
		{name: "policy/never-grants-DeleteBucket", do: e.send(nil, "DELETE", "/pub", ""), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-s3:*-wins-over-Allow-Get*", do: e.send(nil, "GET", "/pub/hidden/x", ""), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-wins-for-HEAD", do: e.send(nil, "HEAD", "/pub/hidden/x", ""), status: 403, code: ""},
		{name: "policy/Deny-wins-over-public-read-ACL-anonymous", do: e.send(nil, "GET", "/denyget/secret", ""), status: 403, code: "AccessDenied"},
		{name: "policy/SourceIp-condition-not-met", do: e.send(nil, "GET", "/cond/ip/x", ""), status: 403, code: "AccessDenied"},
		{name: "policy/UserAgent-condition-not-met", do: e.send(nil, "GET", "/cond/ua/x", "", "User-Agent: evil-agent"), status: 403, code: "AccessDenied"},
		{name: "policy/Allow-with-undecidable-condition-grants-nothing", do: e.send(nil, "GET", "/cond/unk/x", ""), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-with-undecidable-condition-denies", do: e.send(nil, "GET", "/cond/deny/x", ""), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-GetObjectVersion-on-versionId-read", do: e.send(nil, "GET", "/denyver/x?versionId=null", ""), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-GetObjectVersion-on-copy-source-version", do: e.copyInto(e.eve, "evebox", "stolen", "denyver/x?versionId=null"), status: 403, code: "AccessDenied"},
		{name: "policy/DeleteObject-does-not-grant-DeleteObjectVersion-per-key", do: e.send(nil, "POST", deleteKeep("delv"),
			`<Delete><Object><Key>keep</Key><VersionId>null</VersionId></Object></Delete>`), status: 200, code: "AccessDenied", check: e.exists("delv", "keep")},
		{name: "policy/DeleteObject-does-not-grant-DeleteObjectVersion", do: e.send(nil, "DELETE", "/delv/keep?versionId=null", ""), status: 403, code: "AccessDenied", check: e.exists("delv", "keep")},
		// GetObjectAttributes tells size, ETag and checksums: it needs s3:GetObject (or s3:GetObjectVersion) as well.
		{name: "policy/Deny-GetObject-holds-for-GetObjectAttributes", do: e.send(nil, "GET", "/denyget/secret?attributes", "", "X-Amz-Object-Attributes: ETag,ObjectSize,Checksum"), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-GetObject-holds-for-other-accounts-GetObjectAttributes", do: e.send(eve, "GET", "/denyget/secret?attributes", "", "X-Amz-Object-Attributes: ETag,ObjectSize"), status: 403, code: "AccessDenied"},
		{name: "policy/Deny-GetObjectVersion-holds-for-GetObjectAttributes-of-a-version", do: e.send(nil, "GET", "/denyver/x?attributes&versionId=null", "", "X-Amz-Object-Attributes: ETag"), status: 403, code: "AccessDenied"},
		{name: "policy/symlink-out-of-the-granted-bucket", do: e.send(nil, "GET", "/pub/link", ""), status: 403, code: "AccessDenied"},
		{name: "policy/SLO-segments-out-of-the-granted-bucket", do: e.send(nil, "GET", "/pub/slo", ""), status: 409, code: "BrokenMPU"},
		{name: "policy/granted-GetObject-is-not-a-copy-source-elsewhere", do: e.send(nil, "PUT", "/dropbox/stolen", "", "X-Amz-Copy-Source: /priv/secret"), status: 403, code: "AccessDenied"},
	}
}

// ACL grants and other accounts.
func (e *authzEnv) grantsCases() []authzCase {
	eve := &eveCreds
	return []authzCase{
		{name: "grant/READ-grantee-PUT", do: e.send(eve, "PUT", "/rdb/new", "x"), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-DELETE", do: e.send(eve, "DELETE", "/rdb/doc", ""), status: 403, code: "AccessDenied", check: e.exists("rdb", "doc")},
		{name: "grant/READ-grantee-DeleteObjects", do: e.send(eve, "POST", deleteKeep("rdb"), deleteDoc), status: 200, code: "AccessDenied", check: e.exists("rdb", "keep")},
		{name: "grant/READ-grantee-GET-bucket-acl", do: e.send(eve, "GET", "/rdb?acl", ""), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-PUT-bucket-acl", do: e.send(eve, "PUT", "/rdb?acl", "", "X-Amz-Acl: public-read-write"), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-GET-versioning", do: e.send(eve, "GET", "/rdb?versioning", ""), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-GET-bucket-tagging", do: e.send(eve, "GET", "/rdb?tagging", ""), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-DELETE-bucket", do: e.send(eve, "DELETE", "/rdb", ""), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-symlink-out-of-the-bucket", do: e.get(e.eve, "rdb", "link"), status: 403, code: "AccessDenied"},
		{name: "grant/READ-grantee-DLO-out-of-the-bucket", do: e.get(e.eve, "rdb", "dlo"), status: 403, code: "AccessDenied"},
		{name: "grant/WRITE-grantee-copies-a-private-object-in", do: e.copyInto(e.eve, "wrb", "stolen", "priv/secret"), status: 403, code: "AccessDenied"},
		{name: "grant/WRITE-grantee-UploadPartCopy-of-a-private-object", do: e.partCopy(e.eve, "wrb", "priv/secret"), status: 403, code: "AccessDenied"},
		{name: "grant/WRITE_ACP-grantee-PUT-cors", do: e.send(eve, "PUT", "/acpw?cors", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-GET", do: e.get(e.eve, "priv", "secret"), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-ListObjects", do: e.send(eve, "GET", "/priv", ""), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-ListObjectVersions", do: e.send(eve, "GET", "/priv?versions", ""), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-ListMultipartUploads", do: e.send(eve, "GET", "/priv?uploads", ""), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-PUT-bucket-acl", do: e.send(eve, "PUT", "/priv?acl", "", "X-Amz-Acl: public-read"), status: 403, code: "AccessDenied"},
		{name: "cross/no-grant-DeleteObjects", do: e.send(eve, "POST", deleteKeep("priv"), deleteDoc), status: 200, code: "AccessDenied", check: e.exists("priv", "keep")},
		{name: "cross/no-grant-CopyObject-into-own-bucket", do: e.copyInto(e.eve, "evebox", "stolen", "priv/secret"), status: 403, code: "AccessDenied"},
		{name: "cross/CreateBucket-of-taken-name", do: e.send(eve, "PUT", "/priv", ""), status: 409, code: "BucketAlreadyExists"},
		{name: "cross/owner-signature-replayed-by-other-key", do: e.send(&aws.Credentials{AccessKeyID: "test:tester", SecretAccessKey: "evekey"}, "GET", "/priv/secret", ""), status: 403, code: "SignatureDoesNotMatch"},
	}
}

// Anonymous callers.
func (e *authzEnv) anonymousCases() []authzCase {
	return []authzCase{
		{name: "anonymous/GET-private", do: e.send(nil, "GET", "/priv/secret", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/list-private", do: e.send(nil, "GET", "/priv", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/PUT-private", do: e.send(nil, "PUT", "/priv/new", "x"), status: 403, code: "AccessDenied"},
		{name: "anonymous/DeleteObjects-private", do: e.send(nil, "POST", deleteKeep("priv"), deleteDoc), status: 200, code: "AccessDenied", check: e.exists("priv", "keep")},
		{name: "anonymous/private-object-in-public-read-bucket", do: e.send(nil, "GET", "/prb/private-obj", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/PUT-into-public-read-bucket", do: e.send(nil, "PUT", "/prb/new", "x"), status: 403, code: "AccessDenied"},
		{name: "anonymous/PUT-acl-of-public-read-write-bucket", do: e.send(nil, "PUT", "/dropbox?acl", "", "X-Amz-Acl: public-read-write"), status: 403, code: "AccessDenied"},
		// A public-read bucket (Swift's .r:*) lets anyone HEAD it and its objects: that is not READ_ACP, nor the owner's settings.
		{name: "anonymous/GET-acl-of-public-read-bucket", do: e.send(nil, "GET", "/prb?acl", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-acl-of-private-object-in-public-read-bucket", do: e.send(nil, "GET", "/prb/private-obj?acl", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-acl-of-public-read-object", do: e.send(nil, "GET", "/denyget/secret?acl", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-acl-of-public-read-write-bucket", do: e.send(nil, "GET", "/dropbox?acl", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-versioning-of-public-read-bucket", do: e.send(nil, "GET", "/prb?versioning", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-tagging-of-public-read-bucket", do: e.send(nil, "GET", "/prb?tagging", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-cors-of-public-read-bucket", do: e.send(nil, "GET", "/prb?cors", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-location-of-public-read-bucket", do: e.send(nil, "GET", "/prb?location", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-policyStatus-of-public-read-bucket", do: e.send(nil, "GET", "/prb?policyStatus", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/GET-unconfigured-lifecycle-of-public-read-bucket", do: e.send(nil, "GET", "/prb?lifecycle", ""), status: 403, code: "AccessDenied"},
		{name: "anonymous/PUT-object-acl-in-public-read-write-bucket", do: e.send(nil, "PUT", "/dropbox/owned?acl", "", "X-Amz-Acl: public-read-write"), status: 403, code: "AccessDenied"},
		{name: "anonymous/ListBuckets", do: e.send(nil, "GET", "/", ""), status: 403, code: "AccessDenied"},
	}
}

// Classification: one operation per request, unknown ones refused.
func (e *authzEnv) classificationCases() []authzCase {
	owner := &ownerCreds
	return []authzCase{
		{name: "op/uploads&versions", do: e.send(owner, "GET", "/priv?uploads&versions", ""), status: 400, code: "InvalidArgument"},
		{name: "op/object-acl&tagging", do: e.send(owner, "PUT", "/priv/secret?acl&tagging", "", "X-Amz-Acl: public-read"), status: 400, code: "InvalidArgument"},
		{name: "op/uploads&uploadId", do: e.send(owner, "POST", "/priv/secret?uploads&uploadId=x", ""), status: 400, code: "InvalidArgument"},
		{name: "op/unknown-torrent", do: e.send(owner, "GET", "/priv/secret?torrent", ""), status: 501, code: "NotImplemented"},
		{name: "op/PUT-lifecycle", do: e.send(owner, "PUT", "/priv?lifecycle", "<LifecycleConfiguration/>"), status: 501, code: "NotImplemented"},
		{name: "op/POST-bucket-acl", do: e.send(owner, "POST", "/priv?acl", ""), status: 405, code: "MethodNotAllowed"},
	}
}
