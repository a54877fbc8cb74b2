// fastembed-go, the library the original Go service was built on, driven the way that service used it
// (NewFlagEmbedding on a local cache folder, Embed with its default batch of 256), speaking the bench's child protocol:
// `fastembed-go-peer <scenario> <json options>` prints one JSON line (bench/child.ts does the same for JS systems).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	fastembed "github.com/anush008/fastembed-go"
)

type options struct {
	ModelDir   string `json:"modelDir"`
	Corpus     string `json:"corpus"`
	Queries    string `json:"queries"`
	N          int    `json:"n"`
	QueryCount int    `json:"queryCount"`
	CacheDir   string `json:"goCacheDir"`
}

var start = time.Now()

func readJSONL(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var s string
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			fail(err)
		}
		out = append(out, s)
	}
	if n < len(out) {
		out = out[:n]
	}
	return out
}

func fail(err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(b))
	os.Exit(1)
}

// fastembed-go only loads models from <cache>/<model name>/ with model_optimized.onnx: a folder of links to the
// bench's model files.
func layout(o options) {
	dir := filepath.Join(o.CacheDir, string(fastembed.AllMiniLML6V2))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	links := map[string]string{"model_optimized.onnx": "model.onnx"}
	for _, f := range []string{"tokenizer.json", "config.json", "tokenizer_config.json", "special_tokens_map.json"} {
		links[f] = f
	}
	for to, from := range links {
		target := filepath.Join(dir, to)
		os.Remove(target)
		if err := os.Symlink(filepath.Join(o.ModelDir, from), target); err != nil {
			fail(err)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	scenario := os.Args[1]
	var o options
	if err := json.Unmarshal([]byte(os.Args[2]), &o); err != nil {
		fail(err)
	}
	layout(o)
	show := false
	tLoad := time.Now()
	// MaxLength 512, not the 256 the other systems truncate at: fastembed-go v1.0.0's tokenizer (sugarme/tokenizer)
	// dereferences a nil pair encoding when it truncates, so a text longer than MaxLength kills the process. At 512
	// no text of the corpus is truncated, so it embeds each passage whole (more tokens than the others for the longest).
	model, err := fastembed.NewFlagEmbedding(&fastembed.InitOptions{Model: fastembed.AllMiniLML6V2, CacheDir: o.CacheDir, MaxLength: 512, ShowDownloadProgress: &show})
	if err != nil {
		fail(err)
	}
	defer model.Destroy()
	result := map[string]any{"system": "fastembed-go", "scenario": scenario, "load_ms": ms(time.Since(tLoad))}
	embed := func(texts []string) {
		if _, err := model.Embed(texts, 256); err != nil {
			fail(err)
		}
	}
	switch scenario {
	case "cold":
		embed([]string{"hello world"})
		result["cold_start_ms"] = ms(time.Since(start))
	case "bulk":
		texts := readJSONL(o.Corpus, o.N)
		embed(texts[:8])
		best := time.Duration(1<<63 - 1)
		began := time.Now()
		for pass := 0; pass < 3 && (pass == 0 || time.Since(began) < 40*time.Second); pass++ {
			t := time.Now()
			embed(texts)
			if d := time.Since(t); d < best {
				best = d
			}
		}
		result["texts"] = len(texts)
		result["seconds"] = best.Seconds()
		result["docs_per_s"] = float64(len(texts)) / best.Seconds()
	case "query":
		queries := readJSONL(o.Queries, o.QueryCount)
		embed(queries[:1])
		lat := make([]float64, 0, len(queries))
		for _, q := range queries {
			t := time.Now()
			embed([]string{q})
			lat = append(lat, ms(time.Since(t)))
		}
		sort.Float64s(lat)
		at := func(q float64) float64 { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		result["queries"] = len(lat)
		result["p50_ms"] = at(0.5)
		result["p99_ms"] = at(0.99)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	result["peak_rss_mb"] = float64(ru.Maxrss) / 1024
	b, _ := json.Marshal(result)
	fmt.Println(string(b))
}
