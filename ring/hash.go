package ring

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
)

// HashPath is Swift's hash_path: md5(prefix + "/a[/c[/o]]" + suffix).
// container and object are optional; an object without a container is a
// caller bug and panics, as Swift raises ValueError.
func HashPath(prefix, suffix, account, container, object string) [16]byte {
	if object != "" && container == "" {
		panic("ring.HashPath: object without container")
	}
	h := md5.New()
	h.Write([]byte(prefix))
	h.Write([]byte("/" + account))
	if container != "" {
		h.Write([]byte("/" + container))
		if object != "" {
			h.Write([]byte("/" + object))
		}
	}
	h.Write([]byte(suffix))
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// HashPathHex is HashPath as the 32-character directory name Swift uses.
func HashPathHex(prefix, suffix, account, container, object string) string {
	h := HashPath(prefix, suffix, account, container, object)
	return hex.EncodeToString(h[:])
}

// PartitionOf returns the top partPower bits of the first 4 bytes of hash.
func PartitionOf(hash [16]byte, partPower uint) int {
	return int(binary.BigEndian.Uint32(hash[:4]) >> (32 - partPower))
}
