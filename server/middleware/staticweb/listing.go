package staticweb

import (
	"encoding/json"
	"html"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

const doctype = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \"http://www.w3.org/TR/html4/loose.dtd\">\n"

// item is one entry of the container listing a page shows.
type item struct {
	Name         *string `json:"name"`
	Subdir       *string `json:"subdir"`
	Bytes        int64   `json:"bytes"`
	ContentType  string  `json:"content_type"`
	LastModified string  `json:"last_modified"`
}

// listing answers with the HTML listing of prefix, as Swift renders it.
func (s *request) listing(prefix string) {
	ctx := s.ctx
	title := html.EscapeString(s.listingLabel())
	if !pyfmt.True(s.site.listings) {
		s.reset()
		proxy.WriteStatus(ctx, fasthttp.StatusNotFound, s.disabledPage(title, prefix))
		s.errorResponse()
		return
	}
	items, code := s.listItems(prefix)
	s.reset()
	if code/100 != 2 {
		proxy.WriteStatus(ctx, code, "")
		if code == fasthttp.StatusUnauthorized {
			proxy.Unauthorized(ctx, s.account)
		}
		s.errorResponse()
		return
	}
	if prefix != "" && len(items) == 0 {
		proxy.WriteStatus(ctx, fasthttp.StatusNotFound, "")
		s.errorResponse()
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	ctx.SetBodyString(s.listingPage(title, prefix, items))
}

// listingLabel is what the page calls the listed path: the path, or the
// site's Web-Listings-Label in place of /v1/account/container.
func (s *request) listingLabel() string {
	path := s.decodedPath()
	if s.site.label == "" {
		return path
	}
	groups := strings.Split(path, "/")
	rest := ""
	if len(groups) > 4 {
		rest = strings.Join(groups[4:], "/")
	}
	return s.site.label + "/" + rest
}

// listItems reads the container's listing of prefix (one level) and its
// status.
func (s *request) listItems(prefix string) ([]item, int) {
	q := "?format=json&delimiter=/"
	if prefix != "" {
		q += "&prefix=" + pyfmt.Quote(prefix)
	}
	resp := proxy.Subrequest(s.ctx, s.next, fasthttp.MethodGet, s.containerURI()+q, s.copyAuthHeaders)
	defer resp.CloseBodyStream()
	var items []item
	if code := resp.StatusCode(); code/100 != 2 {
		return nil, code
	}
	if body := resp.Body(); len(body) > 0 {
		json.Unmarshal(body, &items)
	}
	return items, fasthttp.StatusOK
}

func (s *request) cssPath(prefix string) string {
	css := s.site.listingsCSS
	if strings.HasPrefix(css, "/") || strings.HasPrefix(css, "http://") || strings.HasPrefix(css, "https://") {
		return pyfmt.QuoteSafe(css, ":/")
	}
	return strings.Repeat("../", strings.Count(prefix, "/")) + pyfmt.Quote(css)
}

// styleLink is the page's stylesheet link, or style, the page's own
// style when the site sets no stylesheet.
func (s *request) styleLink(prefix, style string) string {
	if s.site.listingsCSS != "" {
		return `  <link rel="stylesheet" type="text/css" href="` + s.cssPath(prefix) + "\" />\n"
	}
	return style
}

// disabledPage is Swift's page for a site whose listings are off.
func (s *request) disabledPage(title, prefix string) string {
	var b strings.Builder
	b.WriteString(doctype + "<html>\n<head>\n<title>Listing of " + title + "</title>\n")
	b.WriteString(s.styleLink(prefix, "  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n   p {font-size: 2}\n  </style>\n"))
	b.WriteString("</head>\n<body>  <h1>Web Listing Disabled</h1>   <p>The owner of this web site has disabled web listing.   <p>If you are the owner of this web site, you can enable   web listing by setting X-Container-Meta-Web-Listings.</p>")
	if s.site.index != "" {
		b.WriteString("<h1>Index File Not Found</h1> <p>The owner of this web site has set  <b>X-Container-Meta-Web-Index: " + s.site.index + "</b>.  However, this file is not found.</p>")
	}
	b.WriteString(" </body>\n</html>\n")
	return b.String()
}

// listingPage renders items, the listing of prefix.
func (s *request) listingPage(title, prefix string, items []item) string {
	var b strings.Builder
	b.WriteString(doctype + "<html>\n <head>\n  <title>Listing of " + title + "</title>\n")
	b.WriteString(s.styleLink(prefix, "  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n"))
	b.WriteString(" </head>\n <body>\n  <h1 id=\"title\">Listing of " + title + "</h1>\n  <table id=\"listing\">\n   <tr id=\"heading\">\n    <th class=\"colname\">Name</th>\n    <th class=\"colsize\">Size</th>\n    <th class=\"coldate\">Date</th>\n   </tr>\n")
	if prefix != "" {
		b.WriteString("   <tr id=\"parent\" class=\"item\">\n    <td class=\"colname\"><a href=\"../\">../</a></td>\n    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
	}
	for _, it := range items {
		if it.Subdir == nil {
			continue
		}
		sub := strings.TrimPrefix(*it.Subdir, prefix)
		b.WriteString("   <tr class=\"item subdir\">\n    <td class=\"colname\"><a href=\"" + pyfmt.Quote(sub) + "\">" + html.EscapeString(sub) + "</a></td>\n    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
	}
	for _, it := range items {
		if it.Name == nil {
			continue
		}
		name := strings.TrimPrefix(*it.Name, prefix)
		var types []string
		for _, t := range strings.Split(it.ContentType, "/") {
			types = append(types, "type-"+html.EscapeString(strings.ToLower(t)))
		}
		lm := html.EscapeString(it.LastModified)
		lm, _, _ = strings.Cut(lm, ".")
		lm = strings.ReplaceAll(lm, "T", " ")
		b.WriteString("   <tr class=\"item " + strings.Join(types, " ") + "\">\n    <td class=\"colname\"><a href=\"" + pyfmt.Quote(name) + "\">" + html.EscapeString(name) + "</a></td>\n    <td class=\"colsize\">" + humanReadable(it.Bytes) + "</td>\n    <td class=\"coldate\">" + lm + "</td>\n   </tr>\n")
	}
	b.WriteString("  </table>\n </body>\n</html>\n")
	return b.String()
}
