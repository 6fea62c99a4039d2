// Package v20170312 declares the few names of Tencent Cloud's VPC API that
// flannel's tencent-vpc backend refers to, so that flanneld builds without
// the real SDK. Every call fails with ErrNotBuilt: choosing the tencent-vpc
// backend in a Plinth cluster reports that it is not available instead of
// talking to Tencent Cloud.
package v20170312

import "errors"

// ErrNotBuilt is returned by every Client method.
var ErrNotBuilt = errors.New("the tencent-vpc backend is not built into Plinth's flanneld; use vxlan")

// Client stands for an API client; it has no state.
type Client struct{}

// NewClientWithSecretId returns a Client whose calls all fail.
func NewClientWithSecretId(secretID, secretKey, region string) (*Client, error) {
	return &Client{}, ErrNotBuilt
}

// Filter selects route tables by a named attribute.
type Filter struct {
	Name   *string
	Values []*string
}

// Route is one entry of a route table.
type Route struct {
	DestinationCidrBlock *string
	GatewayType          *string
	GatewayId            *string
	RouteId              *uint64
	RouteType            *string
	Enabled              *bool
}

// RouteTable is a VPC route table.
type RouteTable struct {
	RouteTableId *string
	RouteSet     []*Route
}

// DescribeRouteTablesRequest asks for the route tables matching Filters.
type DescribeRouteTablesRequest struct {
	Filters []*Filter
}

// NewDescribeRouteTablesRequest returns an empty request.
func NewDescribeRouteTablesRequest() *DescribeRouteTablesRequest {
	return &DescribeRouteTablesRequest{}
}

// DescribeRouteTablesResponse carries the matching route tables.
type DescribeRouteTablesResponse struct {
	Response *struct {
		RouteTableSet []*RouteTable
	}
}

// DescribeRouteTables fails with ErrNotBuilt.
func (c *Client) DescribeRouteTables(*DescribeRouteTablesRequest) (*DescribeRouteTablesResponse, error) {
	return nil, ErrNotBuilt
}

// RoutesRequest names routes of one route table.
type RoutesRequest struct {
	RouteTableId *string
	Routes       []*Route
}

// CreateRoutesRequest adds Routes to a route table.
type CreateRoutesRequest = RoutesRequest

// DeleteRoutesRequest removes Routes from a route table.
type DeleteRoutesRequest = RoutesRequest

// NewCreateRoutesRequest returns an empty request.
func NewCreateRoutesRequest() *CreateRoutesRequest { return &RoutesRequest{} }

// NewDeleteRoutesRequest returns an empty request.
func NewDeleteRoutesRequest() *DeleteRoutesRequest { return &RoutesRequest{} }

// RoutesResponse is the (empty) answer to a route change.
type RoutesResponse struct{}

// CreateRoutes fails with ErrNotBuilt.
func (c *Client) CreateRoutes(*CreateRoutesRequest) (*RoutesResponse, error) {
	return nil, ErrNotBuilt
}

// DeleteRoutes fails with ErrNotBuilt.
func (c *Client) DeleteRoutes(*DeleteRoutesRequest) (*RoutesResponse, error) {
	return nil, ErrNotBuilt
}
