package ec2sim

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzQuery feeds arbitrary query strings and form bodies to the emulator.
// Whatever arrives, it must not panic and must answer with one well-formed
// XML document: an <ActionResponse> on 200, an error envelope otherwise.
func FuzzQuery(f *testing.F) {
	seeds := []struct{ query, body string }{
		{"", "Action=DescribeInstances&Version=2016-11-15"},
		{"Action=DescribeInstances", ""},
		{"", "Action=DescribeInstances&Filter.1.Name=tag-key&Filter.1.Value.1=launchwarden:project&MaxResults=5"},
		{"", "Action=RunInstances&ImageId=ami-0123456789abcdef0&InstanceType=t3.micro&MinCount=2&MaxCount=2&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=b"},
		{"", "Action=CreateLaunchTemplate&LaunchTemplateName=lt&LaunchTemplateData.ImageId=ami-1&LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize=20"},
		{"", "Action=CreateSecurityGroup&GroupName=g&GroupDescription=d&VpcId=vpc-1"},
		{"", "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8"},
		{"", "Action=CreateTags&ResourceId.1=i-1&Tag.1.Key=k&Tag.1.Value=%FF%FE"},
		{"", "Action=TerminateInstances&InstanceId.1=i-00000000000000001&InstanceId.2="},
		{"", "Action=DescribeLaunchTemplateVersions&LaunchTemplateName=x&LaunchTemplateVersion.1=$Latest"},
		{"", "Action=GetCallerIdentity&Version=2011-06-15"},
		{"", "Action=AssumeRole&RoleArn=arn:aws:iam::210987654321:role/x&RoleSessionName=s"},
		{"", "Action=DescribeInstances&NextToken=%00%01&MaxResults=-1"},
		{"%zz", "Action=%"},
		{"", "Action=Nope<&>"},
		{"", "Action=DescribeInstances&DryRun=true"},
	}
	for _, s := range seeds {
		f.Add(s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, query, body string) {
		sim := New(Options{Start: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)})
		sim.Seed(SeedInstance{ID: "i-00000000000000001", ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", State: StateRunning,
			Tags: map[string]string{"launchwarden:project": "p"}})
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)

		root, err := xmlRoot(rec.Body.String())
		if err != nil {
			t.Fatalf("status %d, body not well-formed XML: %v\n%s", rec.Code, err, rec.Body.String())
		}
		switch {
		case rec.Code == http.StatusOK && !strings.HasSuffix(root, "Response"):
			t.Fatalf("status 200 with root <%s>, want <…Response>", root)
		case rec.Code != http.StatusOK && root != "Response" && root != "ErrorResponse":
			t.Fatalf("status %d with root <%s>, want an error envelope", rec.Code, root)
		}
	})
}

// xmlRoot checks that text is exactly one well-formed XML document and
// returns the name of its root element.
func xmlRoot(text string) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(text))
	root, depth := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					return "", errors.New("more than one root element")
				}
				root = tok.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if root == "" || depth != 0 {
		return "", errors.New("no complete root element")
	}
	return root, nil
}
