package cli_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Real S3 clients from Debian (aws, s3cmd, rclone, restic) against a real
// serve: each test skips only when its tool is not installed.

// needTool skips t unless name is on PATH.
func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (Debian package %s; make test-deps installs it as root)", name, pkg)
	}
}

// clientEnv is the environment for an S3 client: the caller's minus
// anything that configures AWS, rclone, restic or s3cmd (AWS_CA_BUNDLE
// alone breaks rclone's plain-HTTP client), with HOME in a fresh directory
// so no ~/.aws, ~/.s3cfg or ~/.config/rclone is read; then extra.
func clientEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "RCLONE_"), strings.HasPrefix(k, "RESTIC_"),
			k == "HOME", k == "XDG_CONFIG_HOME", k == "XDG_CACHE_HOME", k == "S3CMD_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	return append(env, extra...)
}

// runTool runs name with args in dir under env, failing t (with the
// server's output) when it exits non-zero. It returns stdout.
func runTool(t *testing.T, s *server, env []string, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		out := s.Output()
		if len(out) > 4000 {
			out = "…" + out[len(out)-4000:]
		}
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String(), out)
	}
	return stdout.String()
}

// writeTree creates files (slash-separated names) under root.
func writeTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTree fails t unless root holds exactly files, byte for byte.
func checkTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	seen := map[string]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("walking %s: %v", root, err)
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		want, ok := files[rel]
		if !ok {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs: %d bytes, want %d (%v)", rel, len(got), len(want), err)
		}
		return nil
	})
	for name := range files {
		if !seen[name] {
			t.Errorf("%s missing under %s", name, root)
		}
	}
}

// headETag is the S3 ETag of bucket/key, through aws-sdk-go-v2.
func headETag(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	h, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HeadObject %s/%s: %v", bucket, key, err)
	}
	return aws.ToString(h.ETag)
}

// awsCLI is TestS3ClientsAWSCLI's fixture: a server, an environment that
// configures aws for it and nothing else, and the local tree it uploads.
type awsCLI struct {
	t    *testing.T
	s    *server
	env  []string
	work string     // aws's working directory
	sdk  *s3.Client // for checks that need no aws run of their own
	big  []byte     // 20 MiB: multipart at aws's default 8 MiB threshold
	tree map[string][]byte
	src  string // tree, written out
}

func newAWSCLI(t *testing.T) *awsCLI {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	a := &awsCLI{t: t, s: s, work: t.TempDir(), sdk: s3Client(t, s, "test:tester", "testing")}
	a.env = clientEnv(t, "AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	a.big = randBytes(t, 20<<20)
	a.tree = map[string][]byte{
		"big.bin":             a.big,
		"a.txt":               []byte("alpha\n"),
		"sub/b c+d%e.txt":     []byte("odd name\n"),
		"sub/ünïcødé.txt":     []byte("unicode\n"),
		"sub/deeper/zero.bin": {},
	}
	a.src = filepath.Join(a.work, "src")
	writeTree(t, a.src, a.tree)
	return a
}

// run runs aws against the server with JSON output and returns stdout.
func (a *awsCLI) run(args ...string) string {
	a.t.Helper()
	return runTool(a.t, a.s, a.env, a.work, "aws", append([]string{"--endpoint-url", a.s.URL, "--output", "json"}, args...)...)
}

// runJSON runs aws and decodes its output into v, failing on bad JSON.
func (a *awsCLI) runJSON(v any, args ...string) {
	a.t.Helper()
	if err := json.Unmarshal([]byte(a.run(args...)), v); err != nil {
		a.t.Fatal(err)
	}
}

// TestS3ClientsAWSCLI drives `aws s3` and `aws s3api` (whichever aws is on
// PATH: Debian's awscli or a pip aws-cli 1.x).
func TestS3ClientsAWSCLI(t *testing.T) {
	needTool(t, "aws", "awscli")
	a := newAWSCLI(t)
	a.s3CopySync()
	a.swiftSeesMultipartWhole()
	a.s3apiObjects()
	a.s3apiMultipart()
}

// s3CopySync drives aws s3: cp (multipart both ways), sync, ls, rm.
func (a *awsCLI) s3CopySync() {
	t, work, big, tree := a.t, a.work, a.big, a.tree
	a.run("s3", "mb", "s3://cli")
	a.run("s3", "cp", "--only-show-errors", filepath.Join(a.src, "big.bin"), "s3://cli/big.bin")
	if got, want := headETag(t, a.sdk, "cli", "big.bin"), multipartETag(big, 8<<20); got != want {
		t.Errorf("aws s3 cp of 20 MiB: ETag %s, want the 3-part %s", got, want)
	}
	// The download is ranged GETs with If-Match: the multipart ETag.
	a.run("s3", "cp", "--only-show-errors", "s3://cli/big.bin", filepath.Join(work, "big.back"))
	if got, _ := os.ReadFile(filepath.Join(work, "big.back")); !bytes.Equal(got, big) {
		t.Errorf("aws s3 cp download: %d bytes differ from the 20 MiB uploaded", len(got))
	}
	a.run("s3", "sync", "--only-show-errors", a.src, "s3://cli/tree")
	ls := a.run("s3", "ls", "--recursive", "s3://cli/tree/")
	for name, data := range tree {
		if !strings.Contains(ls, fmt.Sprintf("%d tree/%s\n", len(data), name)) {
			t.Errorf("aws s3 ls lacks %d tree/%s:\n%s", len(data), name, ls)
		}
	}
	dst := filepath.Join(work, "dst")
	a.run("s3", "sync", "--only-show-errors", "s3://cli/tree", dst)
	checkTree(t, dst, tree)
	a.run("s3", "rm", "--only-show-errors", "s3://cli/tree/a.txt")
	a.run("s3", "rm", "--only-show-errors", "--recursive", "s3://cli/tree/sub/")
	// Checks that need no aws of their own go through the SDK: each aws
	// run costs a second of Python start-up.
	if keys := listKeys(t, a.sdk, "cli", "tree/"); strings.Join(keys, ",") != "tree/big.bin" {
		t.Errorf("after aws s3 rm: %v", keys)
	}
}

// swiftSeesMultipartWhole reads the aws-synced multipart object by Swift.
func (a *awsCLI) swiftSeesMultipartWhole() {
	sc := a.s.conn(a.t, "test:tester", "testing")
	if got, err := sc.ObjectGetBytes(context.Background(), "cli", "tree/big.bin"); err != nil || !bytes.Equal(got, a.big) {
		a.t.Errorf("Swift GET of the aws-synced 20 MiB object: %v, %d bytes", err, len(got))
	}
}

// s3apiObjects drives aws s3api on single objects: put and head with
// metadata, a delimited listing, copy-object and delete-objects.
func (a *awsCLI) s3apiObjects() {
	t, sdk, tree := a.t, a.sdk, a.tree
	a.run("s3api", "create-bucket", "--bucket", "api")
	a.run("s3api", "put-object", "--bucket", "api", "--key", "d/one.txt", "--body", filepath.Join(a.src, "a.txt"),
		"--content-type", "text/plain", "--metadata", "color=blue,shape=round")
	var head struct {
		ContentLength int64
		ContentType   string
		ETag          string
		Metadata      map[string]string
	}
	a.runJSON(&head, "s3api", "head-object", "--bucket", "api", "--key", "d/one.txt")
	if head.ContentLength != 6 || head.ContentType != "text/plain" || head.ETag != fmt.Sprintf(`"%x"`, md5.Sum(tree["a.txt"])) ||
		head.Metadata["color"] != "blue" || head.Metadata["shape"] != "round" {
		t.Errorf("head-object: %+v", head)
	}
	for _, k := range []string{"d/two.txt", "d/sub/three.txt", "d/sub/four.txt", "top.txt"} {
		if _, err := sdk.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("api"), Key: aws.String(k),
			Body: bytes.NewReader(tree["a.txt"])}); err != nil {
			t.Fatal(err)
		}
	}
	var list struct {
		Contents       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
	}
	a.runJSON(&list, "s3api", "list-objects-v2", "--bucket", "api", "--prefix", "d/", "--delimiter", "/")
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	if strings.Join(keys, ",") != "d/one.txt,d/two.txt" || len(list.CommonPrefixes) != 1 || list.CommonPrefixes[0].Prefix != "d/sub/" {
		t.Errorf("list-objects-v2 prefix d/ delimiter /: %+v", list)
	}
	a.run("s3api", "copy-object", "--bucket", "api", "--key", "copied", "--copy-source", "api/d/one.txt")
	if h, err := sdk.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("api"), Key: aws.String("copied")}); err != nil ||
		aws.ToInt64(h.ContentLength) != 6 || h.Metadata["color"] != "blue" {
		t.Errorf("the copy-object copy: %v %+v", err, h)
	}
	var del struct {
		Deleted []struct{ Key string }
		Errors  []struct{ Key, Code string }
	}
	a.runJSON(&del, "s3api", "delete-objects", "--bucket", "api", "--delete",
		`{"Objects":[{"Key":"top.txt"},{"Key":"copied"},{"Key":"d/sub/four.txt"}]}`)
	if len(del.Deleted) != 3 || len(del.Errors) != 0 {
		t.Errorf("delete-objects: %+v", del)
	}
}

// s3apiMultipart is a multipart upload by hand through aws s3api
// (5 MiB + 1 MiB), read back, and the api bucket's final listing.
func (a *awsCLI) s3apiMultipart() {
	t, work, big := a.t, a.work, a.big
	var up struct{ UploadId string }
	if err := json.Unmarshal([]byte(a.run("s3api", "create-multipart-upload", "--bucket", "api", "--key", "mp")), &up); err != nil || up.UploadId == "" {
		t.Fatalf("create-multipart-upload: %v %+v", err, up)
	}
	var parts []map[string]any
	for i, p := range [][]byte{big[:5<<20], big[5<<20 : 6<<20]} {
		f := filepath.Join(work, fmt.Sprintf("part%d", i+1))
		os.WriteFile(f, p, 0o644)
		var pr struct{ ETag string }
		json.Unmarshal([]byte(a.run("s3api", "upload-part", "--bucket", "api", "--key", "mp", "--upload-id", up.UploadId,
			"--part-number", fmt.Sprint(i+1), "--body", f)), &pr)
		if pr.ETag != fmt.Sprintf(`"%x"`, md5.Sum(p)) {
			t.Errorf("upload-part %d: ETag %q", i+1, pr.ETag)
		}
		parts = append(parts, map[string]any{"ETag": pr.ETag, "PartNumber": i + 1})
	}
	mpu, _ := json.Marshal(map[string]any{"Parts": parts})
	var done struct{ ETag string }
	json.Unmarshal([]byte(a.run("s3api", "complete-multipart-upload", "--bucket", "api", "--key", "mp", "--upload-id", up.UploadId,
		"--multipart-upload", string(mpu))), &done)
	if want := multipartETag(big[:6<<20], 5<<20); done.ETag != want {
		t.Errorf("complete-multipart-upload: ETag %q, want %s", done.ETag, want)
	}
	a.run("s3api", "get-object", "--bucket", "api", "--key", "mp", filepath.Join(work, "mp.back"))
	if got, _ := os.ReadFile(filepath.Join(work, "mp.back")); !bytes.Equal(got, big[:6<<20]) {
		t.Errorf("get-object of the multipart object: %d bytes differ", len(got))
	}
	if keys := listKeys(t, a.sdk, "api", ""); strings.Join(keys, ",") != "d/one.txt,d/sub/three.txt,d/two.txt,mp" {
		t.Errorf("final listing: %v", keys)
	}
}

// listKeys lists bucket's keys under prefix through aws-sdk-go-v2.
func listKeys(t *testing.T, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("ListObjectsV2 %s/%s: %v", bucket, prefix, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// TestS3ClientsS3cmd drives s3cmd with path-style config files, signing
// with V4 and with V2.
func TestS3ClientsS3cmd(t *testing.T) {
	needTool(t, "s3cmd", "s3cmd")
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	sdk := s3Client(t, s, "test:tester", "testing")
	hostPort := strings.TrimPrefix(s.URL, "http://")
	for _, v2 := range []bool{false, true} {
		sig := map[bool]string{false: "v4", true: "v2"}[v2]
		t.Run(sig, func(t *testing.T) {
			work := t.TempDir()
			cfg := filepath.Join(work, "s3cfg")
			os.WriteFile(cfg, fmt.Appendf(nil, "[default]\naccess_key = test:tester\nsecret_key = testing\nhost_base = %s\nhost_bucket = %s\n"+
				"use_https = False\nsignature_v2 = %s\nbucket_location = us-east-1\n", hostPort, hostPort,
				map[bool]string{false: "False", true: "True"}[v2]), 0o644)
			env := clientEnv(t)
			s3cmd := func(args ...string) string {
				t.Helper()
				return runTool(t, s, env, work, "s3cmd", append([]string{"-c", cfg, "--no-progress"}, args...)...)
			}
			bucket := "s3cmd-" + sig
			s3cmd("mb", "s3://"+bucket)
			// --debug shows which signer the config picked: the other
			// signature would not prove this one.
			dbg := exec.Command("s3cmd", "-c", cfg, "--debug", "ls", "s3://"+bucket)
			dbg.Env = env
			out, err := dbg.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Using signature "+sig) {
				t.Fatalf("s3cmd --debug ls (%v) does not sign with %s:\n%.3000s", err, sig, out)
			}

			big := randBytes(t, 12<<20)
			tree := map[string][]byte{"one.txt": []byte("one\n"), "dir/two words.txt": []byte("two\n"), "dir/ünï+%.txt": []byte("three\n")}
			writeTree(t, filepath.Join(work, "src"), tree)
			os.WriteFile(filepath.Join(work, "big.bin"), big, 0o644)

			s3cmd("put", "--multipart-chunk-size-mb=5", "big.bin", "s3://"+bucket+"/big.bin")
			if got, want := headETag(t, sdk, bucket, "big.bin"), multipartETag(big, 5<<20); got != want {
				t.Errorf("s3cmd multipart put: ETag %s, want the 3-part %s", got, want)
			}
			s3cmd("get", "s3://"+bucket+"/big.bin", "big.back")
			if got, _ := os.ReadFile(filepath.Join(work, "big.back")); !bytes.Equal(got, big) {
				t.Errorf("s3cmd get of the multipart object: %d bytes differ", len(got))
			}
			s3cmd("put", filepath.Join("src", "one.txt"), "s3://"+bucket+"/single.txt")
			if got := s3cmd("get", "s3://"+bucket+"/single.txt", "-"); got != "one\n" {
				t.Errorf("s3cmd get -: %q", got)
			}
			s3cmd("sync", "src/", "s3://"+bucket+"/tree/")
			ls := s3cmd("ls", "-r", "s3://"+bucket)
			for _, name := range []string{"big.bin", "single.txt", "tree/one.txt", "tree/dir/two words.txt", "tree/dir/ünï+%.txt"} {
				if !strings.Contains(ls, "s3://"+bucket+"/"+name+"\n") {
					t.Errorf("s3cmd ls -r lacks %s:\n%s", name, ls)
				}
			}
			s3cmd("sync", "s3://"+bucket+"/tree/", "back/")
			checkTree(t, filepath.Join(work, "back"), tree)
			s3cmd("del", "s3://"+bucket+"/single.txt", "s3://"+bucket+"/big.bin")
			// sync --delete-removed mirrors a deletion.
			os.Remove(filepath.Join(work, "src", "one.txt"))
			s3cmd("sync", "--delete-removed", "src/", "s3://"+bucket+"/tree/")
			ls = s3cmd("ls", "-r", "s3://"+bucket)
			if strings.Contains(ls, "single.txt") || strings.Contains(ls, "big.bin") || strings.Contains(ls, "one.txt") || !strings.Contains(ls, "two words.txt") {
				t.Errorf("after s3cmd del and sync --delete-removed:\n%s", ls)
			}
		})
	}
}

// rcloneRun is TestS3ClientsRclone's fixture: a server and an rclone
// remote "sb" on it, configured by environment alone, with 5 MiB chunks.
type rcloneRun struct {
	t    *testing.T
	s    *server
	env  []string
	work string // rclone's working directory
}

// rcloneTree is the tree TestS3ClientsRclone copies: names with spaces,
// unicode, and characters that need escaping in URLs, and big past the
// chunk size.
func rcloneTree(t *testing.T, big []byte) map[string][]byte {
	return map[string][]byte{
		"big.bin":                   big,
		"plain.txt":                 []byte("plain\n"),
		"with space/a b.txt":        []byte("spaces\n"),
		"ünïcødé/日本語 ø.txt":         []byte("unicode\n"),
		"plus+and%25percent%.txt":   []byte("plus and percent\n"),
		"deep/er/still/?hash#.txt":  []byte("query chars\n"),
		"deep/er/still/tilde~*.bin": randBytes(t, 70_000),
	}
}

func newRclone(t *testing.T) *rcloneRun {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	env := clientEnv(t, "RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_SB_TYPE=s3", "RCLONE_CONFIG_SB_PROVIDER=Other",
		"RCLONE_CONFIG_SB_ACCESS_KEY_ID=test:tester", "RCLONE_CONFIG_SB_SECRET_ACCESS_KEY=testing",
		"RCLONE_CONFIG_SB_ENDPOINT="+s.URL, "RCLONE_CONFIG_SB_REGION=us-east-1", "RCLONE_CONFIG_SB_FORCE_PATH_STYLE=true")
	return &rcloneRun{t: t, s: s, env: env, work: t.TempDir()}
}

// run runs rclone with 5 MiB chunks and upload cutoff; it returns stdout.
func (r *rcloneRun) run(args ...string) string {
	r.t.Helper()
	return runTool(r.t, r.s, r.env, r.work, "rclone", append([]string{"--s3-chunk-size", "5M", "--s3-upload-cutoff", "5M"}, args...)...)
}

// lsjson is the size of each file under sb:rcl/data by rclone lsjson.
func (r *rcloneRun) lsjson() map[string]int64 {
	r.t.Helper()
	var entries []struct {
		Path  string
		Size  int64
		IsDir bool
	}
	if err := json.Unmarshal([]byte(r.run("lsjson", "-R", "--files-only", "sb:rcl/data")), &entries); err != nil {
		r.t.Fatal(err)
	}
	m := map[string]int64{}
	for _, e := range entries {
		m[e.Path] = e.Size
	}
	return m
}

// wantList fails unless rclone lists exactly files under sb:rcl/data,
// each with its size.
func (r *rcloneRun) wantList(files map[string][]byte) {
	r.t.Helper()
	got := r.lsjson()
	var gotNames, wantNames []string
	for n := range got {
		gotNames = append(gotNames, n)
	}
	for n, d := range files {
		wantNames = append(wantNames, n)
		if got[n] != int64(len(d)) {
			r.t.Errorf("lsjson: %s is %d bytes, want %d", n, got[n], len(d))
		}
	}
	sort.Strings(gotNames)
	sort.Strings(wantNames)
	if strings.Join(gotNames, "|") != strings.Join(wantNames, "|") {
		r.t.Errorf("lsjson names:\n%q\nwant\n%q", gotNames, wantNames)
	}
}

// TestS3ClientsRclone drives rclone's S3 backend (provider Other, path
// style, configured by environment), with a file past its chunk size.
func TestS3ClientsRclone(t *testing.T) {
	needTool(t, "rclone", "rclone")
	r := newRclone(t)
	big := randBytes(t, 11<<20)
	tree := rcloneTree(t, big)
	src := filepath.Join(r.work, "src")
	writeTree(t, src, tree)
	r.run("mkdir", "sb:rcl")
	r.run("copy", src, "sb:rcl/data")
	r.run("check", src, "sb:rcl/data")
	r.wantList(tree)
	r.othersSeeCopy(tree)

	// sync: one file changed, one gone, one new.
	os.Remove(filepath.Join(src, "plain.txt"))
	delete(tree, "plain.txt")
	tree["with space/a b.txt"] = []byte("changed, and longer\n")
	tree["new+file.txt"] = []byte("new\n")
	writeTree(t, src, tree)
	r.run("sync", src, "sb:rcl/data")
	r.run("check", src, "sb:rcl/data")
	r.wantList(tree)
	back := filepath.Join(r.work, "back")
	r.run("copy", "sb:rcl/data", back)
	checkTree(t, back, tree)
	r.checkNoticesMissing(src)

	r.run("delete", "--include", "*.txt", "sb:rcl/data")
	for n := range tree {
		if strings.HasSuffix(n, ".txt") {
			delete(tree, n)
		}
	}
	r.wantList(tree)
}

// othersSeeCopy checks rclone's upload through the SDK (the multipart
// ETag of big.bin) and through Swift (the bytes).
func (r *rcloneRun) othersSeeCopy(tree map[string][]byte) {
	t := r.t
	sdk := s3Client(t, r.s, "test:tester", "testing")
	if got, want := headETag(t, sdk, "rcl", "data/big.bin"), multipartETag(tree["big.bin"], 5<<20); got != want {
		t.Errorf("rclone upload of 11 MiB with 5 MiB chunks: ETag %s, want %s", got, want)
	}
	sc := r.s.conn(t, "test:tester", "testing")
	for _, name := range []string{"ünïcødé/日本語 ø.txt", "big.bin"} {
		if got, err := sc.ObjectGetBytes(context.Background(), "rcl", "data/"+name); err != nil || !bytes.Equal(got, tree[name]) {
			t.Errorf("Swift GET of rclone's %s: %v, %d bytes", name, err, len(got))
		}
	}
}

// checkNoticesMissing: rclone check must notice a difference, or the
// checks that passed prove nothing.
func (r *rcloneRun) checkNoticesMissing(src string) {
	cmd := exec.Command("rclone", "check", src, "sb:rcl/data")
	cmd.Env = r.env
	os.WriteFile(filepath.Join(src, "extra.txt"), []byte("local only"), 0o644)
	if out, err := cmd.CombinedOutput(); err == nil {
		r.t.Errorf("rclone check passed with a file missing remotely:\n%s", out)
	}
	os.Remove(filepath.Join(src, "extra.txt"))
}

// TestS3ClientsRestic backs up to and restores from a restic repository
// in a swiftbox bucket.
func TestS3ClientsRestic(t *testing.T) {
	needTool(t, "restic", "restic")
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	work := t.TempDir()
	env := clientEnv(t, "AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=testing",
		"RESTIC_REPOSITORY=s3:"+s.URL+"/restic-repo", "RESTIC_PASSWORD=correct horse",
		"RESTIC_CACHE_DIR="+filepath.Join(work, "cache"))
	restic := func(args ...string) string {
		t.Helper()
		return runTool(t, s, env, work, "restic", args...)
	}
	tree := map[string][]byte{
		"docs/readme.md":       []byte("# backed up\n"),
		"docs/ünï cødé+%.txt":  []byte("unicode name\n"),
		"photos/one.jpg":       randBytes(t, 3<<20),
		"photos/two.jpg":       randBytes(t, 700_000),
		"empty":                {},
		"repeated/block-a.bin": bytes.Repeat([]byte("dedup me "), 200_000),
	}
	src := filepath.Join(work, "data")
	writeTree(t, src, tree)
	restic("init")
	restic("backup", "--quiet", src)
	// A second snapshot after a change: restore must return the latest.
	tree["docs/readme.md"] = []byte("# backed up twice\n")
	writeTree(t, src, tree)
	restic("backup", "--quiet", src)
	if snaps := restic("snapshots", "--json"); strings.Count(snaps, `"id"`) != 2 {
		t.Errorf("restic snapshots: want 2:\n%s", snaps)
	}
	// prune rewrites packs and deletes what no snapshot needs any more.
	restic("forget", "--keep-last", "1", "--prune")
	if snaps := restic("snapshots", "--json"); strings.Count(snaps, `"id"`) != 1 {
		t.Errorf("restic snapshots after forget --keep-last 1: want 1:\n%s", snaps)
	}
	restic("check", "--read-data")
	target := filepath.Join(work, "restore")
	restic("restore", "latest", "--target", target)
	// restic places the snapshot's directory under target (by its base
	// name, or its full path in later versions).
	root := ""
	filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "data" && root == "" {
			if _, e := os.Stat(filepath.Join(p, "docs", "readme.md")); e == nil {
				root = p
			}
		}
		return nil
	})
	if root == "" {
		t.Fatalf("restored tree not found under %s", target)
	}
	checkTree(t, root, tree)
}
