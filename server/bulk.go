package server

import "github.com/valyala/fasthttp"

func (p *Proxy) bulk(next fasthttp.RequestHandler) fasthttp.RequestHandler { return next }
