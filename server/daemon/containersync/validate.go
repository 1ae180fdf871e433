package containersync

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"swiftbox/config"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/db"
)

// What the daemon and the container_sync middleware
// (server/middleware/containersync) share: the check of an
// X-Container-Sync-To value and the realm signature.

// ValidateSyncTo is Swift's utils.validate_sync_to: an error message, or
// the endpoint to sync to and, for realm values, the realm and its key.
func ValidateSyncTo(cs config.ContainerSyncConfig, value string) (errMsg, endpoint, realm, realmKey string) {
	orig := value
	value = strings.TrimRight(value, "/")
	if value == "" {
		return "", "", "", ""
	}
	if strings.HasPrefix(value, "//") {
		data := strings.Split(value[2:], "/")
		if len(data) != 4 {
			return fmt.Sprintf("Invalid X-Container-Sync-To format %s", pyfmt.Repr(orig)), "", "", ""
		}
		r, ok := cs.Realms[strings.ToUpper(data[0])]
		if !ok || r.Key == "" {
			return fmt.Sprintf("No realm key for %s", pyfmt.Repr(data[0])), "", "", ""
		}
		ep := r.Clusters[strings.ToUpper(data[1])]
		if ep == "" {
			return fmt.Sprintf("No cluster endpoint for %s %s", pyfmt.Repr(data[0]), pyfmt.Repr(data[1])), "", "", ""
		}
		return "", strings.TrimRight(ep, "/") + "/" + data[2] + "/" + data[3], strings.ToUpper(data[0]), r.Key
	}
	scheme, rest, _ := strings.Cut(value, ":")
	if !strings.Contains(value, ":") || strings.ContainsAny(scheme, "/?#") {
		scheme = ""
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Sprintf(`Invalid scheme %s in X-Container-Sync-To, must be "//", "http", or "https".`, pyfmt.Repr(scheme)), "", "", ""
	}
	u, err := url.Parse(value)
	if err != nil {
		return "Path required in X-Container-Sync-To", "", "", ""
	}
	path := u.EscapedPath()
	params := false
	if i := strings.LastIndexByte(path, '/'); strings.Contains(path[max(i, 0):], ";") {
		params = true
	}
	if !strings.HasPrefix(rest, "//") {
		path = rest // urlparse: no netloc, all path
	}
	if path == "" {
		return "Path required in X-Container-Sync-To", "", "", ""
	}
	if params || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(value, "#") {
		return "Params, queries, and fragments not allowed in X-Container-Sync-To", "", "", ""
	}
	host := strings.ToLower(u.Hostname())
	if !newSyncGuard(cs).allowsURL(u) {
		h := "None"
		if host != "" {
			h = pyfmt.Repr(host)
			if u.Port() != "" {
				h = pyfmt.Repr(strings.ToLower(u.Host))
			}
		}
		return fmt.Sprintf("Invalid host %s in X-Container-Sync-To", h), "", "", ""
	}
	return "", value, "", ""
}

// Sig is ContainerSyncRealms.get_sig: the HMAC-SHA1 of method, path,
// X-Timestamp, nonce and the container's key under the realm key.
func Sig(method, path, xTimestamp, nonce, realmKey, userKey string) string {
	m := hmac.New(sha1.New, []byte(realmKey))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s", method, path, xTimestamp, nonce, userKey)
	return hex.EncodeToString(m.Sum(nil))
}

// versionsSysmeta is where object versioning records a container's
// versions container (object_versioning's sysmeta): Swift refuses
// container sync on such a container, either way round.
const versionsSysmeta = "X-Container-Sysmeta-Versions-Container"

// VersioningConfigured reports whether a container's metadata has object
// versioning configured.
func VersioningConfigured(meta db.Metadata) bool { return meta[versionsSysmeta].Value != "" }
