package proxy_test

import (
	"swiftbox/server"
	"swiftbox/server/proxy"
)

func init() { proxy.SetAssembled(server.Filters()) }
