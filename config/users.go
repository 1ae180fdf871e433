package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UsersFileName is the file in the state dir holding the users swiftbox
// manages: serve's generated admin and those added with `swiftbox user`.
const UsersFileName = "users.yaml"

// S3Key is an S3 access key pair of a local user. Buckets, when set,
// restricts the key to those buckets; ReadOnly to reads.
type S3Key struct {
	AccessKey string   `yaml:"access_key"`
	SecretKey string   `yaml:"secret_key"`
	User      string   `yaml:"user"` // account:user
	Buckets   []string `yaml:"buckets,omitempty"`
	ReadOnly  bool     `yaml:"read_only,omitempty"`
}

// UsersFile is users.yaml: local users and their S3 keys.
type UsersFile struct {
	Users  []User
	S3Keys []S3Key
}

type usersFileYAML struct {
	Users  []string `yaml:"users"`
	S3Keys []S3Key  `yaml:"s3_keys,omitempty"`
}

// LoadUsersFile reads dir/users.yaml (empty if missing).
func LoadUsersFile(dir string) (*UsersFile, error) {
	path := filepath.Join(dir, UsersFileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &UsersFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f usersFileYAML
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := &UsersFile{S3Keys: f.S3Keys}
	for _, s := range f.Users {
		u, err := ParseUser(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out.Users = append(out.Users, u)
	}
	for i, k := range out.S3Keys {
		if k.AccessKey == "" || k.SecretKey == "" || !strings.Contains(k.User, ":") {
			return nil, fmt.Errorf("%s: s3_keys[%d] needs access_key, secret_key and user (account:user)", path, i)
		}
	}
	return out, nil
}

// Save writes f to dir/users.yaml atomically and durably, readable by
// its owner only (it holds keys).
func (f *UsersFile) Save(dir string) error {
	y := usersFileYAML{S3Keys: f.S3Keys}
	for _, u := range f.Users {
		y.Users = append(y.Users, u.String())
	}
	raw, err := yaml.Marshal(y)
	if err != nil {
		return err
	}
	head := "# Users managed by swiftbox (serve's generated admin and `swiftbox user`):\n# account:user:key:groups, and S3 access keys. Keep it private.\n"
	return writeFileSync(filepath.Join(dir, UsersFileName), append([]byte(head), raw...), 0o600)
}

// Find returns the index of user "account:user", or -1.
func (f *UsersFile) Find(user string) int {
	for i, u := range f.Users {
		if u.Account+":"+u.Name == user {
			return i
		}
	}
	return -1
}

// RandomKey returns n random bytes as hex (for generated keys).
func RandomKey(n int) string { return randomHex(n) }
