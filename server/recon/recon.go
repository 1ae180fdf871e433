package recon

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"swiftbox/server/proxy"

	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"

	"swiftbox/storage"
)

// SwiftVersion is the OpenStack Swift release whose recon answers (and
// on-disk and backend formats) swiftbox follows; /recon/version reports it.
const SwiftVersion = "2.30.1"

// DefaultSwiftConf is Swift's SWIFT_CONF_FILE.
const DefaultSwiftConf = "/etc/swift/swift.conf"

// Handler answers GET /recon/<check>[/<type>] as Swift 2.30.1's recon
// middleware does.
type Handler struct {
	// Devices is the devices directory; SwiftDir holds the rings and
	// swift.conf.
	Devices, SwiftDir string
	// Cache holds the daemons' recon cache files.
	Cache *Cache
	// CheckDevice reports whether a device is usable (exists, is mounted
	// when mount_check is on, is writable); nil accepts every directory.
	// Unlike Swift, which always asks for a mount point here, swiftbox
	// follows its mount_check: with it off a plain directory is a device.
	CheckDevice func(device string) error
	// Version is swiftbox's own version, reported beside Swift's.
	Version string
}

// Middleware answers /recon/ requests and passes the rest to next.
func (h *Handler) Middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if !strings.HasPrefix(string(ctx.Path()), "/recon/") {
			return next(ctx)
		}
		h.Serve(ctx)
		return nil
	}
}

// Serve answers one /recon/ request.
func (h *Handler) Serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	parts := strings.SplitN(strings.TrimPrefix(path, "/recon/"), "/", 2)
	check, typ := parts[0], ""
	if len(parts) == 2 {
		typ = parts[1]
	}
	all := typ == "account" || typ == "container" || typ == "object"
	var content any
	var err error
	switch {
	case check == "mem":
		content, err = procKV("/proc/meminfo")
	case check == "load":
		content, err = loadAvg()
	case check == "async":
		content = h.cached("object", "async_pending", "async_pending_last")
	case check == "replication" && (all || typ == ""):
		content = h.replication(typ)
	case check == "devices":
		content = h.devicesList()
	case check == "updater" && (typ == "container" || typ == "object"):
		content = h.cached(typ, typ+"_updater_sweep")
	case check == "auditor" && all:
		content = h.auditor(typ)
	case check == "expirer" && typ == "object":
		content = h.cached("object", "object_expiration_pass", "expired_last_pass")
	case check == "mounted":
		content, err = mounted()
	case check == "unmounted":
		content = h.unmounted()
	case check == "diskusage":
		content = h.diskUsage()
	case check == "ringmd5":
		content = h.ringMD5()
	case check == "swiftconfmd5":
		// swift-recon looks the answer up under Swift's default path
		// (its SWIFT_CONF_FILE, whatever --swiftdir says), so the md5 of
		// this cluster's swift.conf is given under that key as well.
		p := filepath.Join(h.SwiftDir, "swift.conf")
		sum := md5File(p)
		content = map[string]any{p: sum, DefaultSwiftConf: sum}
	case check == "quarantined":
		content = h.quarantined()
	case check == "sockstat":
		content = sockstat()
	case check == "version":
		content = map[string]any{"version": SwiftVersion, "swiftbox_version": h.Version}
	case check == "driveaudit":
		content = h.cached("drive", "drive_audit_errors")
	case check == "time":
		content = float64(time.Now().UnixNano()) / 1e9
	case check == "sharding":
		content = h.cached("container", "sharding_stats", "sharding_time", "sharding_last")
	case check == "relinker":
		content = h.cached("relinker", "devices", "workers")
	case check == "reconstruction" && typ == "object":
		content = h.cached("object", "object_reconstruction_last", "object_reconstruction_time")
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("Invalid path: " + path)
		return
	}
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("Internal server error.")
		return
	}
	body, _ := json.Marshal(content)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// cached returns keys from a recon cache file, null for missing ones.
func (h *Handler) cached(kind string, keys ...string) map[string]any {
	out := make(map[string]any, len(keys))
	var m map[string]any
	if h.Cache != nil {
		m, _ = h.Cache.Load(kind)
	}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func (h *Handler) replication(typ string) map[string]any {
	keys := []string{"replication_time", "replication_stats", "replication_last"}
	if typ == "" || typ == "object" {
		return h.cached("object", append(keys, "object_replication_time", "object_replication_last")...)
	}
	return h.cached(typ, keys...)
}

func (h *Handler) auditor(typ string) map[string]any {
	if typ == "object" {
		return h.cached("object", "object_auditor_stats_ALL", "object_auditor_stats_ZBF")
	}
	return h.cached(typ, typ+"_audits_passed", typ+"_auditor_pass_completed", typ+"_audits_since", typ+"_audits_failed")
}

// deviceNames lists the device directories (storage.ListDevices).
func (h *Handler) deviceNames() []string {
	devs, _, _ := storage.ListDevices(h.Devices)
	return devs
}

func (h *Handler) devicesList() map[string]any {
	ents, err := os.ReadDir(h.Devices)
	if err != nil {
		return map[string]any{h.Devices: nil}
	}
	names := []string{}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return map[string]any{h.Devices: names}
}

// mountState is what Swift's check_mount says: nil (mounted), false (not
// a mount point) or an error string.
func (h *Handler) mountState(dev string) any {
	if h.CheckDevice == nil {
		return nil
	}
	err := h.CheckDevice(dev)
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "not a mount point"):
		return false
	default:
		return err.Error()
	}
}

func (h *Handler) unmounted() []map[string]any {
	out := []map[string]any{}
	for _, dev := range h.deviceNames() {
		if st := h.mountState(dev); st != nil {
			out = append(out, map[string]any{"device": dev, "mounted": st})
		}
	}
	return out
}

func (h *Handler) diskUsage() []map[string]any {
	out := []map[string]any{}
	for _, dev := range h.deviceNames() {
		if st := h.mountState(dev); st != nil {
			out = append(out, map[string]any{"device": dev, "mounted": st, "size": "", "used": "", "avail": ""})
			continue
		}
		var fs unix.Statfs_t
		if err := unix.Statfs(filepath.Join(h.Devices, dev), &fs); err != nil {
			out = append(out, map[string]any{"device": dev, "mounted": err.Error(), "size": "", "used": "", "avail": ""})
			continue
		}
		bs := uint64(fs.Bsize)
		out = append(out, map[string]any{"device": dev, "mounted": true,
			"size": bs * fs.Blocks, "used": bs * (fs.Blocks - fs.Bavail), "avail": bs * fs.Bavail})
	}
	return out
}

func (h *Handler) ringMD5() map[string]any {
	out := map[string]any{}
	names := []string{"account.ring.gz", "container.ring.gz"}
	if ents, err := os.ReadDir(h.SwiftDir); err == nil {
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, "object") && strings.HasSuffix(n, ".ring.gz") {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		p := filepath.Join(h.SwiftDir, n)
		if _, err := os.Stat(p); err == nil {
			out[p] = md5File(p)
		}
	}
	return out
}

// md5File is the file's MD5 in hex, or nil when it cannot be read.
func md5File(path string) any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	return hex.EncodeToString(h.Sum(nil))
}

// quarantined counts the entries under <device>/quarantined/<type> (Swift
// reads the directory's link count, which is the same on filesystems that
// keep one; counting works on those that don't).
func (h *Handler) quarantined() map[string]any {
	counts := map[string]int{"objects": 0, "containers": 0, "accounts": 0}
	policies := map[string]any{}
	for _, dev := range h.deviceNames() {
		qpath := filepath.Join(h.Devices, dev, "quarantined")
		types, err := os.ReadDir(qpath)
		if err != nil {
			continue
		}
		for _, t := range types {
			ents, err := os.ReadDir(filepath.Join(qpath, t.Name()))
			if err != nil || len(ents) == 0 {
				continue
			}
			n := len(ents)
			qt := t.Name()
			if strings.HasPrefix(qt, "objects") {
				pkey := "0"
				if _, p, ok := strings.Cut(qt, "-"); ok {
					pkey = p
				}
				pc, _ := policies[pkey].(map[string]any)
				if pc == nil {
					pc = map[string]any{"objects": 0}
					policies[pkey] = pc
				}
				pc["objects"] = pc["objects"].(int) + n
				counts["objects"] += n
			} else if _, ok := counts[qt]; ok {
				counts[qt] += n
			}
		}
	}
	return map[string]any{"objects": counts["objects"], "containers": counts["containers"],
		"accounts": counts["accounts"], "policies": policies}
}

func procKV(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}

func loadAvg() (map[string]any, error) {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(raw))
	if len(f) < 5 {
		return nil, io.ErrUnexpectedEOF
	}
	out := map[string]any{"tasks": f[3]}
	for i, k := range []string{"1m", "5m", "15m"} {
		v, _ := strconv.ParseFloat(f[i], 64)
		out[k] = v
	}
	out["processes"], _ = strconv.Atoi(f[4])
	return out, nil
}

func mounted() ([]map[string]string, error) {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := []map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 {
			out = append(out, map[string]string{"device": fs[0], "path": fs[1]})
		}
	}
	return out, sc.Err()
}

func sockstat() map[string]any {
	out := map[string]any{}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if raw, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); strings.HasPrefix(line, "TCP: inuse") && len(f) >= 11 {
				out["tcp_in_use"] = atoi(f[2])
				out["orphan"] = atoi(f[4])
				out["time_wait"] = atoi(f[6])
				out["tcp_mem_allocated_bytes"] = atoi(f[10]) * os.Getpagesize()
			}
		}
	}
	if raw, err := os.ReadFile("/proc/net/sockstat6"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); strings.HasPrefix(line, "TCP6: inuse") && len(f) >= 3 {
				out["tcp6_in_use"] = atoi(f[2])
			}
		}
	}
	return out
}
