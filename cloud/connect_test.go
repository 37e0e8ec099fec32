package cloud

import (
	"testing"
	"time"
)

func TestAccountFromARN(t *testing.T) {
	tests := []struct{ arn, want string }{
		{"arn:aws:iam::111111111111:role/launchwarden", "111111111111"},
		{"arn:aws-cn:iam::222222222222:role/path/to/role", "222222222222"},
		{"", ""},
		{"launchwarden", ""},
		{"urn:aws:iam::111111111111:role/x", ""},
	}
	for _, tt := range tests {
		if got := accountFromARN(tt.arn); got != tt.want {
			t.Errorf("accountFromARN(%q) = %q, want %q", tt.arn, got, tt.want)
		}
	}
}

func TestConnectRejectsIncompleteAccounts(t *testing.T) {
	tests := []struct {
		name    string
		account Account
	}{
		{"no regions", Account{Name: "ci", ID: "111111111111"}},
		{"no account ID", Account{Name: "ci", Regions: []string{"us-east-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hermeticAWSEnv(t)
			clients, err := Connect(t.Context(), ConnectOptions{
				EndpointURL: "http://127.0.0.1:1",
				Accounts:    []Account{tt.account},
				MaxBackoff:  time.Millisecond,
			})
			if err == nil {
				t.Errorf("Connect accepted %+v and returned %d clients", tt.account, len(clients))
			}
		})
	}
}
