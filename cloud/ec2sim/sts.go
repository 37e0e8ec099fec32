package ec2sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Access keys issued by AssumeRole are "ASIA" + the 12-digit account +
// issuedKeySuffix, so later calls signed with them land in that account
// without the emulator keeping a session table.
const issuedKeySuffix = "EC2S"

var (
	roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$`)
	accountPattern = regexp.MustCompile(`^\d{12}$`)
)

// accountFor returns the account an access key belongs to.
func (s *Sim) accountFor(accessKey string) string {
	if len(accessKey) == 20 && strings.HasPrefix(accessKey, "ASIA") && strings.HasSuffix(accessKey, issuedKeySuffix) {
		if acct := accessKey[4:16]; accountPattern.MatchString(acct) {
			return acct
		}
	}
	return s.opts.DefaultAccount
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	Result struct {
		Credentials     stsCredentials `xml:"Credentials"`
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			ARN           string `xml:"Arn"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type decodeAuthorizationMessageResponse struct {
	Result struct {
		DecodedMessage string `xml:"DecodedMessage"`
	} `xml:"DecodeAuthorizationMessageResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type callerIdentityResponse struct {
	Result struct {
		ARN     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// serveSTS answers the STS actions the emulator knows: AssumeRole,
// GetCallerIdentity and DecodeAuthorizationMessage (of the messages the
// emulator's UnauthorizedOperation errors carry).
func (s *Sim) serveSTS(w http.ResponseWriter, p params, action string, caller principal, requestID string) {
	var body any
	switch action {
	case "AssumeRole":
		m := roleARNPattern.FindStringSubmatch(p.str("RoleArn"))
		if m == nil {
			writeSTSError(w, "ValidationError", fmt.Sprintf("%s is invalid", p.str("RoleArn")), requestID)
			return
		}
		session := p.str("RoleSessionName")
		if session == "" {
			writeSTSError(w, "ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null", requestID)
			return
		}
		duration := time.Hour
		if d := p.str("DurationSeconds"); d != "" {
			var secs int
			if _, err := fmt.Sscan(d, &secs); err != nil || secs < 900 || secs > 43200 {
				writeSTSError(w, "ValidationError", "The requested DurationSeconds is invalid", requestID)
				return
			}
			duration = time.Duration(secs) * time.Second
		}
		acct := m[1]
		r := &assumeRoleResponse{RequestID: requestID}
		r.Result.Credentials = stsCredentials{
			AccessKeyID:     "ASIA" + acct + issuedKeySuffix,
			SecretAccessKey: "ec2sim-secret-" + newRequestID(),
			SessionToken:    sessionToken(p.str("RoleArn"), session),
			// Real time on purpose: SDK credential caches compare the
			// expiry with the wall clock, not the simulated one.
			Expiration: time.Now().Add(duration).UTC().Format(time.RFC3339),
		}
		r.Result.AssumedRoleUser.AssumedRoleID = "AROA" + acct + "SIM:" + session
		r.Result.AssumedRoleUser.ARN = assumedRoleARN(p.str("RoleArn"), session)
		body = r
	case "GetCallerIdentity":
		r := &callerIdentityResponse{RequestID: requestID}
		r.Result.Account = caller.account
		r.Result.ARN = caller.caller
		r.Result.UserID = "AIDA" + caller.account
		body = r
	case "DecodeAuthorizationMessage":
		f, err := DecodeAuthorizationFailure(p.str("EncodedMessage"))
		if err != nil {
			writeSTSError(w, "InvalidAuthorizationMessageException", "The encoded message is not valid.", requestID)
			return
		}
		decoded, _ := json.Marshal(f)
		r := &decodeAuthorizationMessageResponse{RequestID: requestID}
		r.Result.DecodedMessage = string(decoded)
		body = r
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	if err := encodeXML(w, action+"Response", stsNamespace, body); err != nil {
		s.log.Debug("response not written", "action", action, "err", err)
	}
}

func writeSTSError(w http.ResponseWriter, code, message, requestID string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		stsNamespace, escape(code), escape(message), escape(requestID))
}
