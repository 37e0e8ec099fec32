package ec2sim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// benchSim holds 100,000 instances, one in ten tagged for project "p3".
func benchSim(b *testing.B) *ec2sim.Sim {
	b.Helper()
	sim := ec2sim.New(ec2sim.Options{Start: start})
	for i := range 100_000 {
		sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"launchwarden:project": fmt.Sprintf("p%d", i%10), "Name": fmt.Sprint(i)}})
	}
	return sim
}

var nextTokenPattern = regexp.MustCompile(`<nextToken>([^<]+)</nextToken>`)

// describePage serves one DescribeInstances call in-process and returns the
// next token.
func describePage(b *testing.B, sim *ec2sim.Sim, form url.Values) string {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("DescribeInstances: %d %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	if m := nextTokenPattern.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmarks measure the emulator rather than a response buffer.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// serveDiscarding serves one call in-process, discarding the body.
func serveDiscarding(b *testing.B, sim *ec2sim.Sim, body string) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := &discardWriter{header: http.Header{}}
	sim.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
}

// BenchmarkDescribeInstancesPage measures serving one page of 1,000
// instances out of 100,000, from the middle of the listing.
func BenchmarkDescribeInstancesPage(b *testing.B) {
	sim := benchSim(b)
	form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}, "MaxResults": {"1000"}}
	for range 50 {
		form.Set("NextToken", describePage(b, sim, form))
	}
	body := form.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serveDiscarding(b, sim, body)
	}
}

// BenchmarkDescribeInstancesFiltered measures a page of 1,000 instances
// matching a tag filter that one instance in ten passes.
func BenchmarkDescribeInstancesFiltered(b *testing.B) {
	sim := benchSim(b)
	form := url.Values{
		"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}, "MaxResults": {"1000"},
		"Filter.1.Name": {"tag:launchwarden:project"}, "Filter.1.Value.1": {"p3"},
	}
	body := form.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serveDiscarding(b, sim, body)
	}
}

// BenchmarkDescribeInstancesSDK measures a page of 1,000 instances through
// aws-sdk-go-v2 over loopback HTTP: the cost a client of the emulator sees.
func BenchmarkDescribeInstancesSDK(b *testing.B) {
	sim := benchSim(b)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "us-east-1", 3))
	in := &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := c.DescribeInstances(context.Background(), in)
		if err != nil {
			b.Fatalf("DescribeInstances: %v", err)
		}
		in.NextToken = out.NextToken
	}
}
