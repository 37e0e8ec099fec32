package ec2sim

import (
	"net/http"
	"strconv"
)

type xmlValue struct {
	Value string `xml:"value"`
}

type describeInstanceAttributeResponse struct {
	meta
	InstanceID            string     `xml:"instanceId"`
	DisableAPITermination *xmlValue  `xml:"disableApiTermination"`
	ShutdownBehavior      *xmlValue  `xml:"instanceInitiatedShutdownBehavior"`
	UserData              *xmlValue  `xml:"userData"`
	InstanceType          *xmlValue  `xml:"instanceType"`
	RootDeviceName        *xmlValue  `xml:"rootDeviceName"`
	Groups                []xmlGroup `xml:"groupSet>item"`
}

// oneInstance returns the instance named by the InstanceId parameter.
func (c *call) oneInstance() (*instance, error) {
	id := c.p.str("InstanceId")
	if id == "" {
		return nil, errMissingParameter("InstanceId")
	}
	ins, err := c.r.checkInstanceIDs([]string{id})
	if err != nil {
		return nil, err
	}
	return ins[0], nil
}

func describeInstanceAttribute(c *call) (response, error) {
	in, err := c.oneInstance()
	if err != nil {
		return nil, err
	}
	resp := &describeInstanceAttributeResponse{InstanceID: in.ID}
	switch attr := c.p.str("Attribute"); attr {
	case "disableApiTermination":
		resp.DisableAPITermination = &xmlValue{strconv.FormatBool(in.TerminationProtection)}
	case "instanceInitiatedShutdownBehavior":
		behavior := in.ShutdownBehavior
		if behavior == "" {
			behavior = "stop"
		}
		resp.ShutdownBehavior = &xmlValue{behavior}
	case "userData":
		resp.UserData = &xmlValue{in.UserData}
	case "instanceType":
		resp.InstanceType = &xmlValue{in.InstanceType}
	case "rootDeviceName":
		resp.RootDeviceName = &xmlValue{rootDevice}
	case "groupSet":
		resp.Groups = []xmlGroup{}
		for _, id := range in.SecurityGroupIDs {
			resp.Groups = append(resp.Groups, xmlGroup{GroupID: id})
		}
	case "":
		return nil, errMissingParameter("Attribute")
	default:
		return nil, errInvalidParameterValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return resp, nil
}

// modifyInstanceAttribute changes termination protection, the instance
// type of a stopped instance, or its security groups.
func modifyInstanceAttribute(c *call) (response, error) {
	in, err := c.oneInstance()
	if err != nil {
		return nil, err
	}
	value := func(name string) (string, bool) {
		if c.p.has(name + ".Value") {
			return c.p.str(name + ".Value"), true
		}
		if c.p.str("Attribute") == lowerFirst(name) && c.p.has("Value") {
			return c.p.str("Value"), true
		}
		return "", false
	}
	if v, ok := value("DisableApiTermination"); ok {
		in.TerminationProtection = v == "true"
	}
	if v, ok := value("InstanceType"); ok {
		if _, known := lookupInstanceType(v); !known {
			return nil, errInvalidParameterValue("Invalid value '%s' for InstanceType.", v)
		}
		if in.State != StateStopped {
			return nil, newError(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", in.ID)
		}
		in.InstanceType = v
	}
	if ids := c.p.list("GroupId"); len(ids) > 0 {
		groups, err := c.r.resolveGroups(ids, nil)
		if err != nil {
			return nil, err
		}
		in.SecurityGroupIDs = groups
		if len(in.enis) > 0 {
			in.enis[0].SecurityGroupIDs = append([]string(nil), groups...)
		}
	}
	return &returnResponse{Return: true}, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
