package server

import "github.com/valyala/fasthttp"

func (p *Proxy) slo(next fasthttp.RequestHandler) fasthttp.RequestHandler { return next }
