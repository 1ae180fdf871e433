package server

import "github.com/valyala/fasthttp"

func (p *Proxy) dlo(next fasthttp.RequestHandler) fasthttp.RequestHandler { return next }
