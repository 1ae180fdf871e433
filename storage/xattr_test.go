package storage

import (
	"os"

	"github.com/pkg/xattr"
)

func fsetx(f *os.File, k string, v []byte) error { return xattr.FSet(f, k, v) }
func fgetx(f *os.File, k string) ([]byte, error) { return xattr.FGet(f, k) }
func fremovex(f *os.File, k string) error        { return xattr.FRemove(f, k) }
