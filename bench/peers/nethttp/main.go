// Command nethttp is the net/http peer of examples/aehttp for
// bench/http.sh: TechEmpower's plaintext and json on Go's standard server,
// one goroutine per connection (net/http adds the Date header itself). It
// is a reference peer for the benchmark, not a product.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Server"] = []string{"nethttp"}
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write([]byte("Hello, World!"))
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Server"] = []string{"nethttp"}
		w.Header()["Content-Type"] = []string{"application/json"}
		body, _ := json.Marshal(map[string]string{"message": "Hello, World!"})
		w.Write(body)
	})
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "TCP address to listen on")
	flag.Parse()
	log.Printf("nethttp: listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler()))
}
