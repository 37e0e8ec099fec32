package statuspage

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").ParseFS(assets, "assets/*.html"))

// stylesheet is the one stylesheet of the pages.
var stylesheet = func() []byte {
	b, err := assets.ReadFile("assets/style.css")
	if err != nil {
		panic(err)
	}
	return b
}()

// Options configure the pages.
type Options struct {
	// Now is the clock the pages say "in 5h" against; time.Now if nil.
	Now func() time.Time
	// Password returns the basic-auth password the pages require, "" for
	// none. An error (the secret cannot be read) refuses every page rather
	// than serving them open. Nil means no password.
	Password func() (string, error)
	// Logger gets failures to render a page; nil discards them.
	Logger *slog.Logger
}

// Handler serves the pages from s: the overview at /, a project's page at
// /projects/<name>, the stylesheet at /style.css, and a 404 page for
// anything else. Every response is a read of the store: nothing calls AWS.
func Handler(s *Store, o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: s, opts: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /projects/{name}", h.project)
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(stylesheet)
	})
	mux.HandleFunc("/", h.notFound)
	return h.guard(mux)
}

type handler struct {
	store *Store
	opts  Options
}

func (h *handler) overview(w http.ResponseWriter, _ *http.Request) {
	h.render(w, http.StatusOK, "overview.html", h.store.overview(h.opts.Now()))
}

func (h *handler) project(w http.ResponseWriter, r *http.Request) {
	page, ok := h.store.project(r.PathValue("name"), h.opts.Now())
	if !ok {
		h.notFound(w, r)
		return
	}
	h.render(w, http.StatusOK, "project.html", page)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	page := struct {
		header
		Path string
	}{header: header{Title: "Not found · launchwarden"}, Path: r.URL.Path}
	h.render(w, http.StatusNotFound, "notfound.html", page)
}

// render executes a page into a buffer first, so that a failure is a clean
// 500 rather than half a page.
func (h *handler) render(w http.ResponseWriter, code int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		h.opts.Logger.Error("rendering status page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// guard sets the headers every response carries and asks for the password
// when one is configured.
func (h *handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		// No script, no frame, no outside resource: the pages need none.
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		if h.opts.Password != nil {
			want, err := h.opts.Password()
			if err != nil {
				h.opts.Logger.Error("status page password cannot be read: refusing every page", "err", err)
				http.Error(w, "the status page's password cannot be read: see serve's log", http.StatusServiceUnavailable)
				return
			}
			if want != "" && !passwordOK(r, want) {
				hd.Set("WWW-Authenticate", `Basic realm="launchwarden", charset="UTF-8"`)
				http.Error(w, "a password is required", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// passwordOK reports whether r carries the password (any user name). The
// comparison takes the same time wherever the two differ, and hashing
// first hides the password's length.
func passwordOK(r *http.Request, want string) bool {
	_, got, ok := r.BasicAuth()
	if !ok {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
