package s3compat_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

// grantsOf is "PERMISSION:grantee" of each grant (grantee: ID or group URI).
func grantsOf(gs []types.Grant) []string {
	var out []string
	for _, g := range gs {
		who := aws.ToString(g.Grantee.ID)
		if g.Grantee.Type == types.TypeGroup {
			who = aws.ToString(g.Grantee.URI)
		}
		out = append(out, string(g.Permission)+":"+who)
	}
	return out
}

func TestS3ACLGrants(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{S3Listener: true, Configure: anonymousAUTHtest,
		Users: []string{"test:tester:testing:.admin", "test2:tester2:testing2:.admin"}})
	a := &aclTest{t: t, s3Addr: strings.TrimPrefix(s.S3URL, "http://"), main: s3Client(t, s, "test:tester", "testing"),
		alt: s3Client(t, s, "test2:tester2", "testing2"), ctx: context.Background(), b: aws.String("acls")}
	a.objectGrants()
	a.grantsDecide()
	a.anonymousAccount()
	a.otherAccountsPublic()
	ba := a.fullPolicy()
	a.badDocuments(ba)
	a.putObjectACLKeepsMetadata()
}

// aclTest is TestS3ACLGrants' state: bucket b (acls) of main
// (test:tester, in s3.anonymous_account), and alt (test2:tester2), a
// user of another account.
type aclTest struct {
	t         *testing.T
	s3Addr    string // the S3 listener's host:port
	main, alt *s3.Client
	ctx       context.Context
	b         *string
}

// put writes key into b as c, its own name as the body.
func (a *aclTest) put(c *s3.Client, key string, in *s3.PutObjectInput) error {
	if in == nil {
		in = &s3.PutObjectInput{}
	}
	in.Bucket, in.Key, in.Body = a.b, aws.String(key), strings.NewReader(key)
	_, err := c.PutObject(a.ctx, in)
	return err
}

// anonAt is the status of an anonymous GET of path.
func (a *aclTest) anonAt(path string) int {
	resp, err := http.Get("http://" + a.s3Addr + path)
	if err != nil {
		a.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (a *aclTest) anon(key string) int { return a.anonAt("/acls/" + key) }

// objectGrants creates b and objects with grants, and reads the grants
// back.
func (a *aclTest) objectGrants() {
	t, main, alt, ctx, b := a.t, a.main, a.alt, a.ctx, a.b
	if _, err := main.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// One bucket namespace: another account cannot take the name.
	if _, err := alt.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); s3test.Code(err) != "BucketAlreadyExists" {
		t.Fatalf("CreateBucket of another account's bucket: %v", err)
	}
	if err := a.put(main, "private", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.put(main, "shared", &s3.PutObjectInput{GrantRead: aws.String(`id="test2:tester2"`)}); err != nil {
		t.Fatalf("PutObject with x-amz-grant-read: %v", err)
	}
	if err := a.put(main, "public", &s3.PutObjectInput{ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if err := a.put(main, "bad", &s3.PutObjectInput{GrantRead: aws.String(`id="no:body"`)}); s3test.Code(err) != "InvalidArgument" {
		t.Fatalf("grant to an unknown user: %v", err)
	}

	oa, err := main.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("shared")})
	if got := grantsOf(oa.Grants); err != nil || aws.ToString(oa.Owner.ID) != "test:tester" || len(got) != 1 || got[0] != "READ:test2:tester2" {
		t.Fatalf("GetObjectAcl shared: %v %v", err, got)
	}
	oa, err = main.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("public")})
	if got := grantsOf(oa.Grants); err != nil || len(got) != 2 || got[0] != "READ:http://acs.amazonaws.com/groups/global/AllUsers" || got[1] != "FULL_CONTROL:test:tester" {
		t.Fatalf("GetObjectAcl public: %v %v", err, got)
	}
}

// grantsDecide: the grants decide what the other account's user may do;
// AllUsers READ lets anonymous clients in.
func (a *aclTest) grantsDecide() {
	t, alt, ctx, b := a.t, a.alt, a.ctx, a.b
	if got, err := s3test.Get(t, alt, "acls", "shared", ""); err != nil || got != "shared" {
		t.Fatalf("granted GET: %q %v", got, err)
	}
	if _, err := s3test.Get(t, alt, "acls", "private", ""); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("ungranted GET: %v", err)
	}
	if _, err := alt.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("shared")}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("GetObjectAcl without READ_ACP: %v", err)
	}
	if err := a.put(alt, "mine", nil); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("PutObject without WRITE: %v", err)
	}
	if _, err := alt.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("listing without READ: %v", err)
	}
	if st := a.anon("public"); st != 200 {
		t.Fatalf("anonymous GET of a public-read object: %d", st)
	}
	if st := a.anon("private"); st != 403 {
		t.Fatalf("anonymous GET of a private object: %d", st)
	}
}

// anonymousAccount: in s3.anonymous_account, the S3 grants amend the
// Swift ACLs: AllUsers WRITE lets anonymous writes in, a private object
// stays private in a public bucket.
func (a *aclTest) anonymousAccount() {
	t, main, ctx := a.t, a.main, a.ctx
	if _, err := main.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pub"), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	if _, err := main.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pub"), Key: aws.String("secret"), ACL: types.ObjectCannedACLPrivate, Body: strings.NewReader("s")}); err != nil {
		t.Fatal(err)
	}
	if st := a.anonAt("/pub/secret"); st != 403 {
		t.Fatalf("anonymous GET of a private object in a public bucket: %d", st)
	}
	preq, _ := http.NewRequest("PUT", "http://"+a.s3Addr+"/pub/dropped", strings.NewReader("d"))
	if resp, err := http.DefaultClient.Do(preq); err != nil || resp.StatusCode != 200 {
		t.Fatalf("anonymous PUT into a public-read-write bucket: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	if st := a.anonAt("/pub/dropped"); st != 200 {
		t.Fatalf("anonymous GET of an anonymous upload: %d", st)
	}
}

// otherAccountsPublic: buckets of accounts other than
// s3.anonymous_account are as public as their grants say.
func (a *aclTest) otherAccountsPublic() {
	t, alt, ctx := a.t, a.alt, a.ctx
	if _, err := alt.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alts")}); err != nil {
		t.Fatal(err)
	}
	for key, acl := range map[string]types.ObjectCannedACL{"open": types.ObjectCannedACLPublicRead, "closed": types.ObjectCannedACLPrivate} {
		if _, err := alt.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alts"), Key: aws.String(key), ACL: acl, Body: strings.NewReader(key)}); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.anonAt("/alts/open"); st != 200 {
		t.Fatalf("anonymous GET of another account's public-read object: %d", st)
	}
	if st := a.anonAt("/alts/closed"); st != 403 {
		t.Fatalf("anonymous GET of another account's private object: %d", st)
	}
	if st := a.anonAt("/alts"); st != 403 {
		t.Fatalf("anonymous listing of another account's private bucket: %d", st)
	}
}

// fullPolicy: a full AccessControlPolicy gives WRITE to the other user;
// it returns the bucket's ACL as set.
func (a *aclTest) fullPolicy() *s3.GetBucketAclOutput {
	t, main, alt, ctx, b := a.t, a.main, a.alt, a.ctx, a.b
	ba, err := main.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || aws.ToString(ba.Owner.ID) != "test:tester" {
		t.Fatalf("GetBucketAcl: %v %+v", err, ba)
	}
	policy := &types.AccessControlPolicy{Owner: ba.Owner, Grants: append(ba.Grants,
		types.Grant{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String("test2:tester2")}, Permission: types.PermissionWrite},
		types.Grant{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AuthenticatedUsers")}, Permission: types.PermissionRead})}
	if _, err := main.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, AccessControlPolicy: policy}); err != nil {
		t.Fatalf("PutBucketAcl: %v", err)
	}
	ba, _ = main.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if got := grantsOf(ba.Grants); len(got) != 3 || got[0] != "READ:http://acs.amazonaws.com/groups/global/AuthenticatedUsers" {
		t.Fatalf("bucket grants: %v", got)
	}
	if err := a.put(alt, "mine", nil); err != nil {
		t.Fatalf("PutObject with WRITE: %v", err)
	}
	if _, err := alt.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}); err != nil {
		t.Fatalf("listing with AuthenticatedUsers READ: %v", err)
	}
	oa, err := main.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("mine")})
	if err != nil || aws.ToString(oa.Owner.ID) != "test2:tester2" {
		t.Fatalf("the writer owns its object: %v %+v", err, oa)
	}
	if got, err := s3test.Get(t, alt, "acls", "mine", ""); err != nil || got != "mine" {
		t.Fatalf("owner's GET: %q %v", got, err)
	}
	if _, err := alt.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPublicRead}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("PutBucketAcl without WRITE_ACP: %v", err)
	}
	return ba
}

// badDocuments: refused ACL documents and canned ACLs (ba: the bucket's
// ACL).
func (a *aclTest) badDocuments(ba *s3.GetBucketAclOutput) {
	t, main, ctx, b := a.t, a.main, a.ctx, a.b
	bad := &types.AccessControlPolicy{Owner: ba.Owner, Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser}, Permission: types.PermissionRead}}}
	if _, err := main.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, AccessControlPolicy: bad}); s3test.Code(err) != "MalformedACLError" {
		t.Fatalf("grant without an ID: %v", err)
	}
	bad.Grants[0].Grantee = &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://example.com/nobody")}
	if _, err := main.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, AccessControlPolicy: bad}); s3test.Code(err) != "InvalidArgument" {
		t.Fatalf("unknown group: %v", err)
	}
	bad.Owner = &types.Owner{ID: aws.String("test2:tester2")}
	bad.Grants = ba.Grants
	if _, err := main.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, AccessControlPolicy: bad}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("giving the bucket away: %v", err)
	}
	if _, err := main.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("private"), ACL: "nonsense"}); s3test.Code(err) != "InvalidArgument" {
		t.Fatalf("unknown canned ACL: %v", err)
	}
}

// putObjectACLKeepsMetadata: PutObjectAcl keeps the object's metadata; a
// canned ACL replaces the grants.
func (a *aclTest) putObjectACLKeepsMetadata() {
	t, main, alt, ctx, b := a.t, a.main, a.alt, a.ctx, a.b
	if _, err := main.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("meta"), Body: strings.NewReader("m"),
		Metadata: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := main.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("meta"), ACL: types.ObjectCannedACLAuthenticatedRead}); err != nil {
		t.Fatalf("PutObjectAcl: %v", err)
	}
	h, err := main.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("meta")})
	if err != nil || h.Metadata["color"] != "blue" {
		t.Fatalf("metadata after PutObjectAcl: %v %v", err, h.Metadata)
	}
	if got, err := s3test.Get(t, alt, "acls", "meta", ""); err != nil || got != "m" {
		t.Fatalf("GET of an authenticated-read object: %q %v", got, err)
	}
}
